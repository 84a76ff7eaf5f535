// The demo's mid-day injury update seen by both change detectors: the fingerprint detector
// as Phase 2 configures it (examples/phase2_raw/raw_processors.cpp, make_phase2), and a
// QueryChangeDetector running the seeds' LEFT JOIN in the SQLite warehouse over the same
// rows. Both must name the same entities and make the same full-run decision.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "nba_synthetic/season.hpp"
#include "nba_synthetic/warehouse.hpp"
#include "pipeline/change/fingerprint_change_detector.hpp"
#include "pipeline/change/query_change_detector.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/sqlite/sqlite_change_query_runner.hpp"
#include "temp_dir.hpp"

namespace injury_query_detector_test {

using pipeline::CalendarDate;
using pipeline::ChangeSet;

const CalendarDate kDate = *CalendarDate::parse("2025-11-18");  // the demo's date

// The scraped report waits in a staging table of the same shape until Phase 2 loads it;
// `nbac_injury_report` holds what Phase 2 last loaded (the last processed snapshot).
constexpr const char* kStaged = "nbac_injury_report_staged";

// The seeds' diff: today's rows LEFT JOIN the last processed ones on (date, player), plus
// the players that left the report. Only the fields the fingerprint detector watches count.
constexpr const char* kInjuryDiff =
    "SELECT s.player_lookup, CASE WHEN p.player_lookup IS NULL THEN 'added' ELSE 'changed' END"
    "  FROM nbac_injury_report_staged s"
    "  LEFT JOIN nbac_injury_report p ON p.game_date = s.game_date AND p.player_lookup = s.player_lookup"
    " WHERE s.game_date = :date"
    "   AND (p.player_lookup IS NULL OR s.team_abbr IS NOT p.team_abbr OR s.status IS NOT p.status"
    "        OR s.reason IS NOT p.reason)"
    " UNION ALL "
    "SELECT p.player_lookup, 'removed'"
    "  FROM nbac_injury_report p"
    "  LEFT JOIN nbac_injury_report_staged s ON s.game_date = p.game_date AND s.player_lookup = p.player_lookup"
    " WHERE p.game_date = :date AND s.player_lookup IS NULL";

const std::vector<std::string> kColumns{"game_date", "player_lookup", "team_abbr", "status", "reason"};

// The rows Phase 2 writes for a report (raw_processors.cpp, build_rows for nbac_injury_report).
std::vector<std::vector<nba::Value>> rows_of(const std::vector<nba::InjuryEntry>& report) {
  std::vector<std::vector<nba::Value>> rows;
  for (const auto& e : report)
    rows.push_back({kDate.to_string(), e.player_id, e.team, std::string(nba::to_string(e.status)), e.reason});
  return rows;
}

// The snapshot Phase 2's detector reads for a report (RawProcessor::snapshot_for).
std::vector<pipeline::EntitySnapshot> snapshot_of(const std::vector<nba::InjuryEntry>& report) {
  std::vector<pipeline::EntitySnapshot> out;
  for (const auto& e : report)
    out.push_back({e.player_id,
                   {{"team_abbr", e.team}, {"injury_status", std::string(nba::to_string(e.status))}, {"reason", e.reason}}});
  return out;
}

/// The warehouse file, the fingerprint detector as the demo builds it, and the query
/// detector over a read-only runner on the same file.
struct Both {
  pipeline::testing::TempDir dir;
  nba::Warehouse warehouse = *nba::Warehouse::open(dir.file("warehouse.db"));
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  pipeline::FingerprintChangeDetector fingerprint = *pipeline::FingerprintChangeDetector::create(
      store, {"players", {"team_abbr", "injury_status", "reason"}, "change/nbac_injury_report"});
  std::unique_ptr<pipeline::SqliteChangeQueryRunner> runner;
  std::unique_ptr<pipeline::QueryChangeDetector> query;

  Both() {
    nba::TableSpec staged = *warehouse.table("nbac_injury_report");
    staged.name = kStaged;
    EXPECT_TRUE(warehouse.create_table(staged));
    auto r = pipeline::SqliteChangeQueryRunner::open(dir.file("warehouse.db"));
    EXPECT_TRUE(r) << r.error().to_string();
    runner = std::move(*r);
    auto q = pipeline::QueryChangeDetector::create(*runner, {"players", kInjuryDiff, {}});
    EXPECT_TRUE(q) << q.error().to_string();
    query = std::make_unique<pipeline::QueryChangeDetector>(std::move(*q));
  }

  /// A scraped report arrives: staged for the query, snapshotted for the fingerprints.
  /// Returns (fingerprint answer, query answer).
  std::pair<ChangeSet, ChangeSet> detect(const std::vector<nba::InjuryEntry>& report) {
    EXPECT_TRUE(warehouse.delete_rows(kStaged, kDate));
    EXPECT_TRUE(warehouse.upsert(kStaged, kColumns, rows_of(report)));
    const auto snapshot = snapshot_of(report);
    return {fingerprint.detect(kDate, snapshot), query->detect(kDate, {})};
  }

  /// Phase 2 processes the report: the rows land in nbac_injury_report, the fingerprints
  /// are committed with the run.
  void process(const std::vector<nba::InjuryEntry>& report, const ChangeSet& fingerprint_changes) {
    EXPECT_TRUE(warehouse.delete_rows("nbac_injury_report", kDate));
    EXPECT_TRUE(warehouse.upsert("nbac_injury_report", kColumns, rows_of(report)));
    auto st = store.transact([&](pipeline::Transaction& tx) { return fingerprint.commit(tx, fingerprint_changes); });
    EXPECT_TRUE(st) << st.error().to_string();
  }
};

void expect_same(const ChangeSet& fingerprint, const ChangeSet& query) {
  EXPECT_EQ(query.full_fallback, fingerprint.full_fallback) << query.fallback_reason << fingerprint.fallback_reason;
  EXPECT_EQ(query.added, fingerprint.added);
  EXPECT_EQ(query.changed, fingerprint.changed);
  EXPECT_EQ(query.removed, fingerprint.removed);
  EXPECT_EQ(query.ids_to_process(true), fingerprint.ids_to_process(true));
  EXPECT_EQ(query.entities_changed(), fingerprint.entities_changed());
}

TEST(InjuryUpdateQueryDetector, FindsTheSameOnePlayerAsTheFingerprintDetector) {
  const nba::Season season;
  const auto morning = season.injury_report(kDate);
  const auto afternoon = season.injury_report_after_update(kDate);
  const auto update = season.injury_update(kDate);
  ASSERT_GT(morning.size(), 400u);
  Both both;

  // The morning's first run: nothing processed yet, every player is added by both.
  auto [fp0, q0] = both.detect(morning);
  EXPECT_FALSE(fp0.full_fallback);
  EXPECT_EQ(fp0.added.size(), morning.size());
  expect_same(fp0, q0);
  both.process(morning, fp0);

  // Nothing new: nothing changed for either.
  auto [fp_same, q_same] = both.detect(morning);
  EXPECT_TRUE(fp_same.nothing_changed());
  expect_same(fp_same, q_same);

  // 14:00 ET: the injury update changes exactly one player.
  auto [fp1, q1] = both.detect(afternoon);
  EXPECT_EQ(fp1.changed, std::vector<std::string>{update.player_id});
  EXPECT_TRUE(fp1.added.empty() && fp1.removed.empty());
  expect_same(fp1, q1);
}

TEST(InjuryUpdateQueryDetector, AgreesOnAddedChangedAndRemovedPlayers) {
  const nba::Season season;
  auto report = season.injury_report(kDate);
  Both both;
  auto [fp0, q0] = both.detect(report);
  both.process(report, fp0);

  // A trade (team), a new reason, a player dropped from the report, a new one signed.
  report[3].team = report[3].team == "LAL" ? "BOS" : "LAL";
  report[10].reason = "Rest (back-to-back)";
  report[10].status = nba::InjuryStatus::kQuestionable;
  const std::string dropped = report[20].player_id;
  report.erase(report.begin() + 20);
  report.push_back({"zz-rookie", report[0].team, nba::InjuryStatus::kAvailable, ""});
  auto [fp1, q1] = both.detect(report);
  EXPECT_EQ(fp1.removed, std::vector<std::string>{dropped});
  EXPECT_EQ(fp1.added, std::vector<std::string>{"zz-rookie"});
  EXPECT_EQ(fp1.changed.size(), 2u);
  expect_same(fp1, q1);
}

TEST(InjuryUpdateQueryDetector, BothFallBackToAFullRunWhenTheirSourceFails) {
  const nba::Season season;
  const auto report = season.injury_report(kDate);
  Both both;
  // The staging table disappears (the load that fills it failed): the statement cannot run.
  ASSERT_TRUE(both.warehouse.execute("DROP TABLE nbac_injury_report_staged"));
  auto q = both.query->detect(kDate, {});
  EXPECT_TRUE(q.full_fallback);
  EXPECT_NE(q.fallback_reason.find("no such table"), std::string::npos) << q.fallback_reason;
  EXPECT_FALSE(q.entities_changed().has_value());
  // The fingerprint detector on an invalid snapshot answers the same way: everything.
  auto snapshot = snapshot_of(report);
  snapshot.push_back(snapshot.front());  // a repeated id
  auto fp = both.fingerprint.detect(kDate, snapshot);
  EXPECT_TRUE(fp.full_fallback);
  EXPECT_EQ(q.entities_changed(), fp.entities_changed());
}

}  // namespace injury_query_detector_test
