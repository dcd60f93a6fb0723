#pragma once
// peerlab merge OUT SHARD...: results files into one (apps/peerlab/merge_command.cpp).
namespace peerlab::app {

int merge_command(int argc, char** argv);

} // namespace peerlab::app
