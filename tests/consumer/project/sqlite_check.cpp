// The `sqlite` component alone: a durable store opened, written and read back through
// pipeline::sqlite (which brings pipeline::core with it). argv[1]: the database file.
#include <cstdio>

#include <pipeline/sqlite/sqlite_state_store.hpp>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  auto store = pipeline::SqliteStateStore::open(argv[1]);
  if (!store) return 1;
  auto put = (*store)->transact([](pipeline::Transaction& tx) { return tx.put("consumer/sqlite", "ok"); });
  auto back = (*store)->get("consumer/sqlite");
  if (!put || !back || *back != "ok") return 1;
  std::printf("sqlite component ok: %s\n", back->value_or("").c_str());
  return 0;
}
