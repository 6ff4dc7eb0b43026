// The words a line worker reads on a failed tile: each kind of engine failure maps to one plain
// problem and one action (re-plug, scrap, not genuine, call the engineer).
#include "provisioning/records.h"
#include "ui/failure_advice.h"

#include <catch2/catch.hpp>

using namespace keyline;
using keyline::provisioning::Step;
using keyline::ui::FailureAction;
using keyline::ui::FailureAdvisor;

namespace {

provisioning::DeviceResult failed(Step step, std::optional<ErrorCode> code, bool scrapped = false,
                                  const QString& reason = QStringLiteral("x"), int detail = 0) {
    provisioning::DeviceResult r;
    r.pass = false;
    r.failedStep = step;
    r.errorCode = code;
    r.scrapped = scrapped;
    r.reason = reason;
    r.errorDetail = detail;
    return r;
}

} // namespace

TEST_CASE("a passed device needs no advice", "[ui][advice]") {
    provisioning::DeviceResult r;
    r.pass = true;
    CHECK(FailureAdvisor::adviceFor(r).action == FailureAction::None);
}

TEST_CASE("link failures say re-plug", "[ui][advice]") {
    for (ErrorCode code : {ErrorCode::Disconnected, ErrorCode::Timeout,
                           ErrorCode::ProtocolViolation, ErrorCode::DeviceRefused}) {
        const auto a = FailureAdvisor::adviceFor(failed(Step::Flash, code));
        CHECK(a.action == FailureAction::Replug);
        CHECK(a.todo.startsWith(QStringLiteral("Re-plug the device")));
        CHECK_FALSE(a.problem.isEmpty());
    }
    // Nothing known about the failure: the device is the first suspect.
    CHECK(FailureAdvisor::adviceFor(failed(Step::Keystore, std::nullopt)).action ==
          FailureAction::Replug);
}

TEST_CASE("scrapped devices are set aside, with the reason in plain words", "[ui][advice]") {
    const auto otp = FailureAdvisor::adviceFor(failed(Step::OtpKey, ErrorCode::Refused, true));
    CHECK(otp.action == FailureAction::Scrap);
    CHECK(otp.todo == QStringLiteral("Set aside as scrap."));
    CHECK(otp.problem.contains(QStringLiteral("another key")));
    const auto rng = FailureAdvisor::adviceFor(failed(Step::Certificate, ErrorCode::Refused, true));
    CHECK(rng.action == FailureAction::Scrap);
    CHECK(rng.problem.contains(QStringLiteral("another device")));
}

TEST_CASE("a chip that is not genuine is set aside as such", "[ui][advice]") {
    const auto a =
        FailureAdvisor::adviceFor(failed(Step::ChipCheck, ErrorCode::VerificationFailed));
    CHECK(a.action == FailureAction::NotGenuine);
    CHECK(a.todo.startsWith(QStringLiteral("Set aside: not a genuine chip")));
}

TEST_CASE("station problems call the engineer", "[ui][advice]") {
    for (ErrorCode code : {ErrorCode::EnvironmentNotReady, ErrorCode::Io, ErrorCode::Internal,
                           ErrorCode::BadInput}) {
        const auto a = FailureAdvisor::adviceFor(failed(Step::Certificate, code));
        CHECK(a.action == FailureAction::CallEngineer);
        CHECK(a.todo.startsWith(QStringLiteral("Call the engineer")));
    }
    CHECK(FailureAdvisor::adviceFor(failed(Step::Verify, ErrorCode::VerificationFailed)).action ==
          FailureAction::CallEngineer);
}

TEST_CASE("a full order and a paused run are not the device's fault", "[ui][advice]") {
    const auto full = FailureAdvisor::adviceFor(failed(Step::ChipCheck, ErrorCode::Refused, false,
                                                       QStringLiteral("no device ID left"),
                                                       provisioning::kOrderCompleteDetail));
    CHECK(full.action == FailureAction::Unplug);
    const auto paused =
        FailureAdvisor::adviceFor(failed(Step::Flash, ErrorCode::Disconnected, false,
                                         QStringLiteral("flash: the run was cancelled")));
    CHECK(paused.action == FailureAction::Replug);
    CHECK(paused.todo.contains(QStringLiteral("Start")));
}
