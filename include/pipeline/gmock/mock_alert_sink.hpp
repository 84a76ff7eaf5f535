#pragma once
/// @file
/// `mocks::MockAlertSink`: a GoogleMock mock of the `AlertSink` port (target
/// `pipeline::gmock`, which links GoogleTest's gmock).

#include <gmock/gmock.h>

#include "pipeline/core/alert_sink.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0::mocks {

/// A GoogleMock `AlertSink`, for a test that checks which alerts a component raises
/// (match on `Alert::severity`, `key`, `message` with `::testing::Field`), or how an
/// `AlertManager` copes with a sink that fails. Unless a test sets an action, `send`
/// succeeds.
///
/// **Thread safety:** as any GoogleMock mock: `send` may be called from any thread, as
/// the manager does; set expectations before other threads call. **Performance:** for
/// unit tests (each call takes GoogleMock's lock and matches expectations).
/// **Errors:** what the test's actions return.
///
/// **Example:**
/// @code
///   ::testing::StrictMock<pipeline::mocks::MockAlertSink> sink;
///   EXPECT_CALL(sink, send(::testing::Field(&pipeline::Alert::severity, pipeline::Severity::kCritical)));
///   // ... hand `sink` to an AlertManager and run the component that must page ...
/// @endcode
class MockAlertSink : public AlertSink {
 public:
  MOCK_METHOD(Status, send, (const Alert& alert), (override));
};

}  // namespace pipeline::inline v0::mocks
