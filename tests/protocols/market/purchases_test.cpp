// The payer's purchase book: which bills a node pays, from its downloader's
// reports alone (protocols/market/purchases.hpp).
#include "protocols/common/memory_store.hpp"
#include "protocols/market/gate.hpp"
#include "protocols/market/purchases.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::market;

namespace {

constexpr peer_id seller = 10, other = 11;
constexpr std::uint64_t size = 1000, price = 5000;

digest file(std::uint8_t tag) {
  digest d{};
  d[0] = tag;
  return d;
}

filexfer::purchase_report report(std::uint64_t download, std::uint64_t offset = 0,
                                 std::uint64_t length = 0,
                                 std::uint64_t max_price = filexfer::no_max_price) {
  return {download, seller, file(1), price, size, max_price, offset, length};
}

payment_request bill(std::uint64_t from, std::uint64_t to, std::uint8_t tag = 1) {
  payment_request r;
  r.ref[0] = static_cast<std::uint8_t>(from);
  r.hash = file(tag);
  r.from = from;
  r.to = to;
  r.amount = due_for(price, size, to) - due_for(price, size, from);
  r.recipient = seller;
  return r;
}

} // namespace

TEST_CASE("purchase book: a bill is paid only for what was bought, at the announced price") {
  memory_store store;
  purchase_book b;
  CHECK(b.judge(seller, bill(0, size)) == bill_verdict::unsolicited);
  REQUIRE(b.record(store, report(7)));
  REQUIRE(b.record(store, report(7, 0, 600)));
  CHECK(b.judge(other, bill(0, 600)) == bill_verdict::unsolicited);
  CHECK(b.judge(seller, bill(0, 600, 2)) == bill_verdict::wrong_hash);
  auto dear = bill(0, 600);
  ++dear.amount;
  CHECK(b.judge(seller, dear) == bill_verdict::over_price);
  CHECK(b.judge(seller, bill(0, size + 1)) == bill_verdict::over_price);
  CHECK(b.judge(seller, bill(0, 601)) == bill_verdict::wait); // byte 600 has not arrived
  REQUIRE(b.judge(seller, bill(0, 600)) == bill_verdict::pay);
  b.accept(store, seller, bill(0, 600));
  CHECK(b.judge(seller, bill(0, 600)) == bill_verdict::double_bill);
  CHECK(b.judge(seller, bill(500, 700)) == bill_verdict::double_bill);
  REQUIRE(b.record(store, report(7, 600, 400)));
  CHECK(b.judge(seller, bill(600, size)) == bill_verdict::pay);
  b.accept(store, seller, bill(600, size));
  CHECK(b.find(seller, file(1))->paid == price);
  CHECK(b.judge(seller, bill(0, size)) == bill_verdict::double_bill);
}

TEST_CASE("purchase book: the order may be prepaid before any byte, once") {
  memory_store store;
  purchase_book b;
  b.record(store, report(7));
  REQUIRE(b.judge(seller, bill(0, size)) == bill_verdict::pay);
  b.accept(store, seller, bill(0, size));
  CHECK(b.judge(seller, bill(0, size)) == bill_verdict::double_bill);
  // A partial prepayment does not open the door to a second one.
  purchase_book c;
  c.record(store, report(8));
  c.accept(store, seller, bill(0, 100));
  CHECK(c.judge(seller, bill(100, 200)) == bill_verdict::wait);
}

TEST_CASE("purchase book: max_price caps the whole download") {
  memory_store store;
  purchase_book b;
  b.record(store, report(7, 0, size, price / 2));
  CHECK(b.judge(seller, bill(0, size)) == bill_verdict::over_price);
  CHECK(b.judge(seller, bill(0, size / 2)) == bill_verdict::pay);
  b.accept(store, seller, bill(0, size / 2));
  CHECK(b.judge(seller, bill(size / 2, size / 2 + 1)) == bill_verdict::over_price);
}

TEST_CASE("purchase book: a new download is a new purchase, and the book survives a restart") {
  memory_store store;
  {
    purchase_book b;
    b.record(store, report(7, 0, size));
    b.accept(store, seller, bill(0, size));
  }
  purchase_book again;
  again.load(store);
  REQUIRE(again.find(seller, file(1)));
  CHECK(again.find(seller, file(1))->received == size);
  CHECK(again.judge(seller, bill(0, size)) == bill_verdict::double_bill);
  again.record(store, report(9, 0, size)); // the node downloads the file again
  CHECK(again.judge(seller, bill(0, size)) == bill_verdict::pay);
}

TEST_CASE("purchase book: bounded: settled purchases make room, unpaid ones are kept") {
  memory_store store;
  purchase_book b;
  for (std::uint64_t i = 0; i < bounds::purchases_max; ++i) {
    filexfer::purchase_report r{i, i, file(1), price, size, filexfer::no_max_price, 0, 0};
    REQUIRE(b.record(store, r));
  }
  filexfer::purchase_report late{1u << 30, 1u << 30, file(1), price, size, filexfer::no_max_price,
                                 0,        0};
  CHECK_FALSE(b.record(store, late)); // every purchase still owes
  payment_request paid = bill(0, size);
  b.accept(store, 3, paid);
  REQUIRE(b.record(store, late)); // the paid one (provider 3) left
  CHECK(b.find(3, file(1)) == nullptr);
  CHECK(b.size() == bounds::purchases_max);
  CHECK(store.count(tables::purchases()) == bounds::purchases_max);
}
