#include "ui/failure_advice.h"

#include "provisioning/records.h"

namespace keyline::ui {

namespace {

using provisioning::Step;

bool mentions(const QString& reason, const char* word) {
    return reason.contains(QLatin1String(word), Qt::CaseInsensitive);
}

} // namespace

FailureAdvice FailureAdvisor::adviceFor(const provisioning::DeviceResult& r) {
    if (r.pass)
        return {};
    const std::optional<Step> step = r.failedStep;
    const std::optional<ErrorCode> code = r.errorCode;
    auto replug = [](QString problem) {
        return FailureAdvice{FailureAction::Replug, std::move(problem),
                             tr("Re-plug the device. If it fails again, call the engineer.")};
    };
    auto engineer = [](QString problem) {
        return FailureAdvice{FailureAction::CallEngineer, std::move(problem),
                             tr("Call the engineer. Leave the device plugged in.")};
    };

    // Genuineness first: no secret went to such a chip, and it must never come back.
    if (step == Step::ChipCheck && code == ErrorCode::VerificationFailed)
        return {FailureAction::NotGenuine, tr("The chip is not genuine."),
                tr("Set aside: not a genuine chip. Do not plug it in again.")};
    if (code == ErrorCode::Refused && r.errorDetail == provisioning::kOrderCompleteDetail)
        return {FailureAction::Unplug, tr("The order is complete: no device is needed."),
                tr("Unplug the device and keep it for the next order.")};
    // Whatever the link said while the run was being cancelled, the cancel is the cause.
    if (mentions(r.reason, "run was cancelled"))
        return {FailureAction::Replug, tr("The run was paused before this device finished."),
                tr("Press Start, then re-plug the device.")};
    if (r.scrapped) {
        QString problem = tr("This device cannot be provisioned.");
        if (step == Step::OtpKey)
            problem = tr("The device's key memory already holds another key.");
        else if (step == Step::Certificate)
            problem = tr("The device made a key that another device already has.");
        else if (mentions(r.reason, "scrapped"))
            problem = tr("This device was scrapped earlier.");
        return {FailureAction::Scrap, problem, tr("Set aside as scrap.")};
    }
    if (!code)
        return replug(tr("The device did not finish."));
    switch (*code) {
    case ErrorCode::Disconnected:
        return replug(tr("The connection to the device was lost."));
    case ErrorCode::Timeout:
        return replug(tr("The device stopped answering."));
    case ErrorCode::ProtocolViolation:
        return replug(tr("The device sent data the station could not read."));
    case ErrorCode::DeviceRefused:
        return replug(tr("The device refused a step."));
    case ErrorCode::VerificationFailed:
        if (step == Step::Verify)
            return engineer(tr("The device did not boot the expected firmware."));
        return replug(tr("A check on the device did not match."));
    case ErrorCode::EnvironmentNotReady:
        return engineer(tr("The station's key module or database is not ready."));
    case ErrorCode::Io:
        return engineer(tr("The station could not write its records."));
    case ErrorCode::Refused:
        return engineer(tr("The station refused this device."));
    case ErrorCode::BadInput:
    case ErrorCode::NotFound:
    case ErrorCode::InvalidArgument:
        return engineer(tr("The order's files or settings have a problem."));
    case ErrorCode::Internal:
        return engineer(tr("The station hit an internal error."));
    }
    return engineer(tr("The station stopped this device."));
}

} // namespace keyline::ui
