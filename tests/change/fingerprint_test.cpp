#include "pipeline/change/fingerprint.hpp"

#include <cmath>
#include <limits>
#include <string>

#include <gtest/gtest.h>
#define XXH_INLINE_ALL  // the golden test pins the hash function itself
#include <xxhash.h>

namespace fingerprint_test {

using pipeline::EntityField;
using pipeline::EntitySnapshot;
using pipeline::Fingerprinter;

std::uint64_t fp_of(const Fingerprinter& f, const EntitySnapshot& e) {
  auto r = f.fingerprint(e);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().to_string());
  return r ? *r : 0;
}

std::string hex(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

TEST(Fingerprint, FieldOrderDoesNotChangeFingerprint) {
  const Fingerprinter f({"minutes", "injury_status", "points"});
  const EntitySnapshot a{"p1", {{"minutes", std::int64_t{34}}, {"injury_status", std::string("out")}, {"points", 27.5}}};
  const EntitySnapshot b{"p1", {{"points", 27.5}, {"injury_status", std::string("out")}, {"minutes", std::int64_t{34}}}};
  EXPECT_EQ(fp_of(f, a), fp_of(f, b));
  const Fingerprinter reordered({"points", "minutes", "injury_status"});
  EXPECT_EQ(fp_of(f, a), fp_of(reordered, a));
  const Fingerprinter all;  // every field
  EXPECT_EQ(fp_of(all, a), fp_of(all, b));
}

TEST(Fingerprint, LengthPrefixesKeepConcatenationsApart) {
  const Fingerprinter f({"x", "y"});
  const EntitySnapshot ab_c{"p", {{"x", std::string("ab")}, {"y", std::string("c")}}};
  const EntitySnapshot a_bc{"p", {{"x", std::string("a")}, {"y", std::string("bc")}}};
  EXPECT_NE(fp_of(f, ab_c), fp_of(f, a_bc));
  // The boundary between a field name and its value is fixed too.
  const Fingerprinter all;
  const EntitySnapshot n1{"p", {{"ab", std::string("c")}}};
  const EntitySnapshot n2{"p", {{"a", std::string("bc")}}};
  EXPECT_NE(fp_of(all, n1), fp_of(all, n2));
}

TEST(Fingerprint, ValueTypeIsPartOfFingerprint) {
  const Fingerprinter f({"v"});
  const std::uint64_t as_int = fp_of(f, {"p", {{"v", std::int64_t{1}}}});
  const std::uint64_t as_double = fp_of(f, {"p", {{"v", 1.0}}});
  const std::uint64_t as_string = fp_of(f, {"p", {{"v", std::string("1")}}});
  const std::uint64_t as_bool = fp_of(f, {"p", {{"v", true}}});
  const std::uint64_t as_null = fp_of(f, {"p", {{"v", std::monostate{}}}});
  const std::uint64_t absent = fp_of(f, {"p", {}});
  const std::set<std::uint64_t> distinct{as_int, as_double, as_string, as_bool, as_null, absent};
  EXPECT_EQ(distinct.size(), 6u);
}

TEST(Fingerprint, DoublesAreCanonical) {
  const Fingerprinter f({"v"});
  EXPECT_EQ(fp_of(f, {"p", {{"v", -0.0}}}), fp_of(f, {"p", {{"v", 0.0}}}));
  const double quiet = std::numeric_limits<double>::quiet_NaN();
  const double other_nan = std::bit_cast<double>(std::uint64_t{0xFFF0000000000123ull});
  ASSERT_TRUE(std::isnan(other_nan));
  EXPECT_EQ(fp_of(f, {"p", {{"v", quiet}}}), fp_of(f, {"p", {{"v", other_nan}}}));
  EXPECT_NE(fp_of(f, {"p", {{"v", 0.1}}}), fp_of(f, {"p", {{"v", 0.1 + 1e-16 * 2}}}));
}

TEST(Fingerprint, UnlistedFieldDoesNotMatter) {
  const Fingerprinter f({"injury_status"});
  EXPECT_EQ(fp_of(f, {"p", {{"injury_status", std::string("ok")}, {"jersey", std::int64_t{23}}}}),
            fp_of(f, {"p", {{"injury_status", std::string("ok")}, {"jersey", std::int64_t{6}}}}));
  EXPECT_NE(fp_of(f, {"p", {{"injury_status", std::string("ok")}}}),
            fp_of(f, {"p", {{"injury_status", std::string("out")}}}));
}

TEST(Fingerprint, RepeatedChosenFieldIsAnError) {
  const Fingerprinter f({"v"});
  auto r = f.fingerprint({"p", {{"v", std::int64_t{1}}, {"v", std::int64_t{2}}}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, pipeline::ErrorCode::kInvalidArgument);
  // Repeats of a field nobody chose do not matter.
  EXPECT_TRUE(f.fingerprint({"p", {{"v", std::int64_t{1}}, {"w", true}, {"w", false}}}));
  EXPECT_FALSE(Fingerprinter().fingerprint({"p", {{"w", true}, {"w", false}}}));
}

// Pins the encoding and the hash so a change of either (or a machine with another byte
// order) is caught: the bytes below are written out from the documented format.
TEST(Fingerprint, GoldenEncodingAndFingerprintArePinned) {
  const Fingerprinter f({"status", "pts", "min", "flag", "none"});
  const EntitySnapshot e{"lebron-james",
                         {{"status", std::string("out")},
                          {"pts", 27.5},
                          {"min", std::int64_t{-2}},
                          {"flag", true},
                          {"none", std::monostate{}},
                          {"ignored", std::string("x")}}};
  std::string enc;
  ASSERT_TRUE(f.encode(e, enc));
  const std::string expected =
      "01"                                              // version
      "04000000" "666c6167" "03"                        // flag: true
      "03000000" "6d696e" "04" "feffffffffffffff"       // min: int64 -2
      "04000000" "6e6f6e65" "01"                        // none: null
      "03000000" "707473" "05" "0000000000803b40"       // pts: double 27.5
      "06000000" "737461747573" "06" "03000000" "6f7574";  // status: "out"
  EXPECT_EQ(hex(enc), expected);
  // XXH3-64 of those 69 bytes (cross-checked against the system libxxhash), and XXH3's
  // published value for empty input, so a different hash build cannot slip in.
  EXPECT_EQ(fp_of(f, e), 0x287a603b6f3ef6b7ull);
  EXPECT_EQ(XXH3_64bits("", 0), 0x2d06800538d394c2ull);
}

}  // namespace fingerprint_test
