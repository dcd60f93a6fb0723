// peerlab: run, check, sweep and validate scenarios; start live nodes.
#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: peerlab run|check|validate|node ...\n");
    return 2;
  }
  return 2;
}
