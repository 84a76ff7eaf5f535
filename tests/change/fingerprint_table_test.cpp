#include "pipeline/change/fingerprint_table.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace fingerprint_table_test {

using pipeline::FingerprintTable;

// Ids of every length from 1 to the maximum, so both the inline (<= 15 bytes) and the
// arena form are stored, found and reported.
std::vector<std::string> ids_of_every_length() {
  std::vector<std::string> ids;
  for (std::size_t len = 1; len <= pipeline::kMaxEntityIdBytes; ++len) ids.push_back(std::string(len - 1, 'x') + "y");
  for (std::size_t len = 1; len <= pipeline::kMaxEntityIdBytes; len += 7) ids.push_back(std::string(len, 'z'));
  return ids;
}

TEST(FingerprintTable, FindsShortAndLongIdsAndRejectsRepeats) {
  FingerprintTable t;
  const auto ids = ids_of_every_length();
  for (std::size_t i = 0; i < ids.size(); ++i) ASSERT_TRUE(t.insert(ids[i], i));
  EXPECT_FALSE(t.insert(ids[20], 999));
  EXPECT_EQ(t.size(), ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(t.find(ids[i]), std::optional<std::uint64_t>(i)) << ids[i];
  EXPECT_FALSE(t.find(std::string(20, 'x')).has_value());  // a prefix of a stored id
  EXPECT_FALSE(t.find(std::string(15, 'q')).has_value());
  std::map<std::string, std::uint64_t> seen;
  t.for_each([&](std::string_view id, std::uint64_t fp) { seen.emplace(id, fp); });
  EXPECT_EQ(seen.size(), ids.size());
  EXPECT_EQ(seen.at(ids.back()), ids.size() - 1);
}

TEST(FingerprintTable, DiffClassifiesShortAndLongIds) {
  FingerprintTable t;
  const auto ids = ids_of_every_length();
  const std::size_t last = ids.size() - 1;  // the longest id, in the arena
  for (std::size_t i = 0; i < ids.size(); ++i) t.insert(ids[i], i);
  std::vector<std::string_view> current;
  std::vector<std::uint64_t> fps;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i == 3 || i == last) continue;  // removed: one inline, one in the arena
    current.push_back(ids[i]);
    fps.push_back(i == 5 || i == 100 ? 7777 : i);  // changed: one inline, one in the arena
  }
  const std::string added_long(40, 'n');
  current.push_back("new");
  fps.push_back(1);
  current.push_back(added_long);
  fps.push_back(2);
  auto d = t.diff(current, fps);
  EXPECT_FALSE(d.duplicate.has_value());
  ASSERT_EQ(d.changed.size(), 2u);
  EXPECT_EQ(current[d.changed[0]], ids[5]);
  EXPECT_EQ(current[d.changed[1]], ids[100]);
  ASSERT_EQ(d.added.size(), 2u);
  EXPECT_EQ(current[d.added[0]], "new");
  EXPECT_EQ(current[d.added[1]], added_long);
  std::vector<std::string> removed(d.removed.begin(), d.removed.end());
  std::sort(removed.begin(), removed.end());
  std::vector<std::string> expect{ids[3], ids[last]};
  std::sort(expect.begin(), expect.end());
  EXPECT_EQ(removed, expect);
  EXPECT_EQ(d.unchanged, ids.size() - 4);
}

TEST(FingerprintTable, DiffReportsRepeatedIds) {
  FingerprintTable t;
  t.insert("a", 1);
  std::vector<std::string_view> stored_twice{"a", "a"};
  std::vector<std::uint64_t> fps{1, 1};
  EXPECT_EQ(t.diff(stored_twice, fps).duplicate, std::optional<std::string_view>("a"));
  std::vector<std::string_view> added_twice{"b", "c", "b"};
  std::vector<std::uint64_t> fps3{1, 2, 3};
  EXPECT_EQ(t.diff(added_twice, fps3).duplicate, std::optional<std::string_view>("b"));
  FingerprintTable empty;
  EXPECT_EQ(empty.diff(added_twice, fps3).duplicate, std::optional<std::string_view>("b"));
}

// Short ids are compared as packed words: an id that differs from a stored one in any
// single byte, at any length up to and past the inline limit, is a different entity.
TEST(FingerprintTable, DiffTellsApartIdsDifferingInAnyOneByte) {
  for (std::size_t len = 1; len <= 20; ++len) {
    std::string stored(len, 'a');
    for (std::size_t k = 0; k < len; ++k) stored[k] = static_cast<char>('a' + k);
    FingerprintTable t;
    t.insert(stored, 1);
    for (std::size_t pos = 0; pos < len; ++pos) {
      std::string other = stored;
      other[pos] = 'Z';
      std::vector<std::string_view> current{other, stored};
      std::vector<std::uint64_t> fps{1, 1};
      auto d = t.diff(current, fps);
      ASSERT_EQ(d.added, std::vector<std::uint32_t>{0}) << "length " << len << ", byte " << pos;
      EXPECT_EQ(d.unchanged, 1u);
      EXPECT_TRUE(d.removed.empty());
    }
  }
}

// Any DiffSource works: here fingerprints are computed on demand from the id.
TEST(FingerprintTable, DiffReadsAnySource) {
  struct Computed {
    std::vector<std::string> ids;
    [[nodiscard]] std::size_t size() const { return ids.size(); }
    [[nodiscard]] std::string_view id(std::size_t i) const { return ids[i]; }
    [[nodiscard]] std::uint64_t fingerprint(std::size_t i) const { return ids[i].size(); }
  };
  FingerprintTable t;
  t.insert("one", 3);
  t.insert("three", 9);
  t.insert("gone", 4);
  auto d = t.diff(Computed{{"one", "three", "new"}});
  EXPECT_EQ(d.unchanged, 1u);
  EXPECT_EQ(d.changed, std::vector<std::uint32_t>{1});
  EXPECT_EQ(d.added, std::vector<std::uint32_t>{2});
  ASSERT_EQ(d.removed.size(), 1u);
  EXPECT_EQ(d.removed[0], "gone");
}

// Several threads share the chunks of a large snapshot: the same answer as one thread, in
// snapshot order, and a repeat split across chunks (so, maybe, across threads) is found.
TEST(FingerprintTable, ThreadedDiffMatchesOneThreadAndFindsRepeatsAcrossChunks) {
  constexpr std::size_t kStored = 300'000;
  FingerprintTable t;
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < kStored; ++i) {
    ids.push_back(fmt::format("{}-{:07}", i % 3 == 0 ? "a-player-with-a-long-id" : "p", i));
    t.insert(ids.back(), i);
  }
  std::vector<std::string_view> current;
  std::vector<std::uint64_t> fps;
  for (std::size_t i = 0; i < kStored; ++i) {
    if (i % 1000 == 3) continue;  // removed
    current.push_back(ids[i]);
    fps.push_back(i % 777 == 5 ? 1 : i);  // changed
  }
  const std::vector<std::string> added{"new-a", "new-b-with-an-id-longer-than-fifteen"};
  for (const auto& a : added) {
    current.push_back(a);
    fps.push_back(7);
  }
  const auto one = t.diff(current, fps, 1);
  for (unsigned threads : {2u, 3u, 8u}) {
    const auto many = t.diff(current, fps, threads);
    EXPECT_EQ(many.added, one.added) << threads;
    EXPECT_EQ(many.changed, one.changed) << threads;
    EXPECT_EQ(many.unchanged, one.unchanged) << threads;
    std::vector<std::string_view> a = many.removed, b = one.removed;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    EXPECT_EQ(a, b) << threads;
    EXPECT_FALSE(many.duplicate.has_value()) << threads;
  }
  EXPECT_EQ(one.added.size(), 2u);
  EXPECT_EQ(one.removed.size(), kStored / 1000);
  EXPECT_GT(one.changed.size(), 300u);

  // A stored id repeated at both ends of the snapshot, and an added one likewise.
  auto stored_twice = current;
  stored_twice.push_back(current.front());
  std::vector<std::uint64_t> fps2 = fps;
  fps2.push_back(fps.front());
  EXPECT_EQ(t.diff(stored_twice, fps2, 2).duplicate, std::optional<std::string_view>(current.front()));
  auto added_twice = current;
  added_twice.insert(added_twice.begin(), "new-a");
  std::vector<std::uint64_t> fps3 = fps;
  fps3.insert(fps3.begin(), 7);
  EXPECT_EQ(t.diff(added_twice, fps3, 2).duplicate, std::optional<std::string_view>("new-a"));
}

}  // namespace fingerprint_table_test
