// The Phase 5 coordinator's HTTP API.
#include "pipeline/http/coordinator_api.hpp"

#include <memory>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/json_reader.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/http/push.hpp"

namespace pipeline::inline v0::http {

int http_status_for(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kFailedPrecondition:
    case ErrorCode::kAlreadyExists: return 409;
    case ErrorCode::kUnavailable:
    case ErrorCode::kConflict:
    case ErrorCode::kBackpressure:
    case ErrorCode::kDeadlineExceeded:
    case ErrorCode::kCancelled: return 503;
    default: return 500;
  }
}

namespace {

HttpResponse from_error(const Error& e) {
  auto r = HttpResponse::error(http_status_for(e.code), to_string(e.code), e.message);
  if (r.status == 503) r.headers.emplace_back("Retry-After", "10");
  return r;
}

std::string status_url(const std::string& prefix, CalendarDate date) {
  return fmt::format("{}/status?date={}", prefix, date.to_string());
}

// 202 while work goes on (started, waiting, running, retrying), 200 when there is nothing
// to do (already complete, complete), 503 refused.
HttpResponse from_result(const BatchResult& r, const std::string& prefix, CalendarDate date, std::string_view trigger) {
  int status = 202;
  switch (r.status) {
    case BatchOutcome::kAlreadyComplete:
    case BatchOutcome::kComplete: status = 200; break;
    case BatchOutcome::kRefused: status = 503; break;
    default: status = 202; break;
  }
  nlohmann::json body{{"batch_id", r.batch_id},
                      {"status", std::string(to_string(r.status))},
                      {"message", r.message},
                      {"game_date", date.to_string()},
                      {"attempt", r.attempt},
                      {"version", r.version},
                      {"enqueued", r.published.size()},
                      {"status_url", status_url(prefix, date)}};
  if (!trigger.empty()) body["triggered_by"] = std::string(trigger);
  auto res = HttpResponse::json(status, body);
  if (status == 202) res.headers.emplace_back("Location", status_url(prefix, date));
  if (status == 503) res.headers.emplace_back("Retry-After", "60");
  return res;
}

bool scheduler_header(const HttpRequest& req) {
  auto h = req.header("X-CloudScheduler");
  return h && (*h == "true" || *h == "True" || *h == "1");
}

// The request's JSON object body (an empty body is an empty object); an error answer when
// the body is not a JSON object.
Result<nlohmann::json> body_object(const HttpRequest& req) {
  if (req.body.empty()) return nlohmann::json::object();
  DecodeLimits limits;
  limits.max_bytes = 1024 * 1024;
  auto j = internal::parse_bounded_json(req.body, limits, "request body");
  if (!j) return fail(j.error());
  if (!j->is_object()) return fail(ErrorCode::kInvalidArgument, "the request body must be a JSON object");
  return std::move(*j);
}

// game_date from the body, else from ?date= / ?game_date=.
Result<CalendarDate> game_date_of(const HttpRequest& req, const nlohmann::json& body) {
  std::string text;
  if (auto it = body.find("game_date"); it != body.end()) {
    if (!it->is_string())
      return fail(ErrorCode::kInvalidArgument, "game_date must be a string YYYY-MM-DD, got {}",
                  internal::describe_json(*it));
    text = it->get<std::string>();
  } else if (auto q = req.query_param("date")) {
    text = std::string(*q);
  } else if (auto g = req.query_param("game_date")) {
    text = std::string(*g);
  } else {
    return fail(ErrorCode::kInvalidArgument, "game_date is missing (body {{\"game_date\":\"YYYY-MM-DD\"}} or ?date=)");
  }
  auto d = CalendarDate::parse(text);
  if (!d) return fail(ErrorCode::kInvalidArgument, "game_date '{}' is not a date: {}", internal::clip(text), d.error().message);
  return *d;
}

Result<bool> force_of(const nlohmann::json& body) {
  auto it = body.find("force");
  if (it == body.end() || it->is_null()) return false;
  if (!it->is_boolean()) return fail(ErrorCode::kInvalidArgument, "force must be true or false");
  return it->get<bool>();
}

}  // namespace

Status mount_coordinator_api(Router& router, BatchCoordinator& coordinator, CoordinatorApiOptions options) {
  auto opts = std::make_shared<CoordinatorApiOptions>(std::move(options));
  const std::string p = opts->prefix;
  BatchCoordinator* c = &coordinator;

  PIPELINE_TRY(router.add("POST", p + "/start", [c, opts](const HttpRequest& req) {
    auto body = body_object(req);
    if (!body) return from_error(body.error());
    auto date = game_date_of(req, *body);
    if (!date) return from_error(date.error());
    auto force = force_of(*body);
    if (!force) return from_error(force.error());
    const auto trigger = scheduler_header(req) ? BatchTrigger::kScheduler : BatchTrigger::kManual;
    auto r = c->start(*date, *force, trigger);
    if (!r) return from_error(r.error());
    return from_result(*r, opts->prefix, *date, to_string(trigger));
  }));

  PIPELINE_TRY(router.add("POST", p + "/trigger", [c, opts](const HttpRequest& req) {
    auto body = body_object(req);
    if (!body) return from_error(body.error());
    std::string payload = req.body;
    nlohmann::json inner = *body;
    if (auto m = body->find("message"); m != body->end() && m->is_object()) {
      auto env = decode_push_envelope(req.body);
      if (!env) return HttpResponse::error(400, "invalid_envelope", env.error().message);
      payload = std::move(env->data);
      DecodeLimits limits;
      auto j = internal::parse_bounded_json(payload, limits, "trigger message");
      inner = j && j->is_object() ? std::move(*j) : nlohmann::json::object();
    }
    if (scheduler_header(req)) {
      auto date = game_date_of(req, inner);
      if (!date) return from_error(date.error());
      auto r = c->start(*date, false, BatchTrigger::kScheduler);
      if (!r) return from_error(r.error());
      return from_result(*r, opts->prefix, *date, "scheduler");
    }
    // A bare {"game_date":...} (no completion fields): the event path without a message.
    if (inner.is_object() && inner.contains("game_date") && !inner.contains("processor_name") && !opts->decode) {
      auto date = game_date_of(req, inner);
      if (!date) return from_error(date.error());
      auto r = c->start(*date, false, BatchTrigger::kEvent);
      if (!r) return from_error(r.error());
      return from_result(*r, opts->prefix, *date, "event");
    }
    auto msg = opts->decode ? opts->decode(payload) : decode_message(payload);
    if (!msg) return HttpResponse::error(400, "invalid_message", msg.error().message);
    auto r = c->trigger(*msg);
    if (!r) return from_error(r.error());
    return from_result(*r, opts->prefix, msg->partition_date, "event");
  }));

  PIPELINE_TRY(router.add("POST", p + "/retry", [c, opts](const HttpRequest& req) {
    auto body = body_object(req);
    if (!body) return from_error(body.error());
    auto date = game_date_of(req, *body);
    if (!date) return from_error(date.error());
    auto r = c->retry(*date);
    if (!r) return from_error(r.error());
    return from_result(*r, opts->prefix, *date, "");
  }));

  PIPELINE_TRY(router.add("GET", p + "/status", [c, opts](const HttpRequest& req) {
    auto date = game_date_of(req, nlohmann::json::object());
    if (!date) return from_error(date.error());
    auto report = opts->status ? opts->status(*date) : c->status(*date);
    if (!report) return from_error(report.error());
    if (report->batch_id.empty())
      return HttpResponse::error(404, "not_found", fmt::format("no Phase 5 batch for {} yet", date->to_string()));
    return HttpResponse::json(200, report->to_json());
  }));

  PIPELINE_TRY(router.add("GET", p + "/health", [c](const HttpRequest&) {
    auto h = c->health();
    if (!h) return from_error(h.error());
    return HttpResponse::json(200, {{"status", "ok"}, {"coordinator", h->to_json()}});
  }));
  return ok();
}

}  // namespace pipeline::inline v0::http
