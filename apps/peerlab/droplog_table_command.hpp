#pragma once
// peerlab droplog-table: the goodput table of docs/protocols/droplog.md
// (apps/peerlab/droplog_table_command.cpp).
namespace peerlab::app {

int droplog_table_command(int argc, char** argv);

} // namespace peerlab::app
