// Files placed inside a folder without following symbolic links below it
// (net/folder_walk.hpp): the market API's dest_path (checked by
// api_inputs::new_file_inside, placed by place_file_below) and the file-drop
// folders (write_below_atomically). A folder swapped for a link to elsewhere
// between the check and the placement is refused, naming the path, and
// nothing lands outside.
#include "net/api_inputs.hpp"
#include "net/drop_folder.hpp"
#include "net/folder_walk.hpp"

#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace peerlab;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool empty_folder(const fs::path& p) { return fs::is_empty(p); }

} // namespace

TEST_CASE("placement: a download is linked at dest_path below the download folder",
          "[net][placement]") {
  test::temp_dir dir("place");
  auto root = dir.path() / "dl";
  fs::create_directories(root / "movies");
  write(dir.path() / "saved.bin", "verified");
  auto dest = net::api_inputs::new_file_inside("movies/film.bin", root);
  CHECK(dest == root / "movies" / "film.bin");
  net::place_file_below(dir.path() / "saved.bin", root, fs::path("movies/film.bin"));
  CHECK(read(root / "movies" / "film.bin") == "verified");
  // The saved file itself at dest_path (the node's own folder): nothing to do.
  net::place_file_below(root / "movies" / "film.bin", root, fs::path("movies/film.bin"));
  // Another file there: refused, what is there is kept.
  write(dir.path() / "other.bin", "other");
  CHECK_THROWS_WITH(net::place_file_below(dir.path() / "other.bin", root, "movies/film.bin"),
                    (root / "movies" / "film.bin").string() + ": already exists");
  CHECK(read(root / "movies" / "film.bin") == "verified");
  CHECK_THROWS_WITH(net::place_file_below(dir.path() / "other.bin", root, "../x.bin"),
                    Catch::Contains("leads outside its folder"));
}

TEST_CASE("placement: a folder swapped for a link to outside after the check is refused, "
          "nothing lands outside",
          "[net][placement]") {
  test::temp_dir dir("place-swap");
  auto root = dir.path() / "dl", outside = dir.path() / "outside";
  fs::create_directories(root / "movies");
  fs::create_directories(outside);
  write(dir.path() / "saved.bin", "verified");
  auto dest = net::api_inputs::new_file_inside("movies/film.bin", root); // checked: fine
  // Between the check and the placement the folder becomes a link to outside.
  fs::remove(root / "movies");
  fs::create_directory_symlink(outside, root / "movies");
  try {
    net::place_file_below(dir.path() / "saved.bin", root, dest.lexically_relative(root));
    FAIL("placed through a link");
  } catch (const net::placement_error& e) {
    CHECK(std::string(e.what()) ==
          (root / "movies").string() +
            ": is a symbolic link or not a folder (refused: it could lead outside)");
    CHECK(e.through_link);
  }
  CHECK(empty_folder(outside));
  // Checked now, the link is refused at once, naming it.
  try {
    net::api_inputs::new_file_inside("movies/film.bin", root);
    FAIL("accepted a path through a link");
  } catch (const net::api_inputs::bad_input& e) {
    CHECK(e.status == 403);
    CHECK(std::string(e.what()).find("goes through a symbolic link below the download folder (" +
                                     (root / "movies").string()) != std::string::npos);
  }
  // A deeper folder swapped the same way.
  fs::remove(root / "movies");
  fs::create_directories(root / "a" / "b");
  auto deep = net::api_inputs::new_file_inside("a/b/f.bin", root);
  fs::remove(root / "a" / "b");
  fs::create_directory_symlink(outside, root / "a" / "b");
  CHECK_THROWS_AS(
    net::place_file_below(dir.path() / "saved.bin", root, deep.lexically_relative(root)),
    net::placement_error);
  CHECK(empty_folder(outside));
}

TEST_CASE("placement: a link at the name itself is neither a free name nor written through",
          "[net][placement]") {
  test::temp_dir dir("place-name");
  auto root = dir.path() / "dl", outside = dir.path() / "outside";
  fs::create_directories(root);
  fs::create_directories(outside);
  fs::create_symlink(outside / "film.bin", root / "film.bin"); // dangling
  CHECK_THROWS_AS(net::api_inputs::new_file_inside("film.bin", root), net::api_inputs::bad_input);
  write(dir.path() / "saved.bin", "verified");
  CHECK_THROWS_WITH(net::place_file_below(dir.path() / "saved.bin", root, "film.bin"),
                    (root / "film.bin").string() + ": already exists");
  CHECK(empty_folder(outside));
}

TEST_CASE("placement: a drop folder swapped for a link to outside is refused, nothing lands "
          "outside",
          "[net][placement]") {
  test::temp_dir dir("drop-swap");
  auto out = dir.path() / "out", in = dir.path() / "in", outside = dir.path() / "outside";
  fs::create_directories(outside);
  net::drop_folder f(out, in, 1);
  const std::uint8_t data[] = {1, 2, 3};
  auto first = f.write(2, 1, {data, 3});
  CHECK(fs::file_size(first) == 3);
  // The recipient's folder becomes a link to outside before the next write.
  fs::remove_all(f.outgoing_dir(2));
  fs::create_directory_symlink(outside, f.outgoing_dir(2));
  try {
    f.write(2, 2, {data, 3});
    FAIL("wrote through a link");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) ==
          f.outgoing_dir(2).string() +
            ": is a symbolic link or not a folder (refused: it could lead outside)");
  }
  CHECK(empty_folder(outside));
  // A link at the file's name is replaced by the file, never written through.
  auto name = net::drop_file_name({1, 3, 1});
  fs::create_directories(f.outgoing_dir(3));
  fs::create_symlink(outside / "target", f.outgoing_dir(3) / name);
  f.write(3, 1, {data, 3});
  CHECK_FALSE(fs::is_symlink(f.outgoing_dir(3) / name));
  CHECK(fs::file_size(f.outgoing_dir(3) / name) == 3);
  CHECK(empty_folder(outside));
}
