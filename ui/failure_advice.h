#pragma once

// What a line worker reads on a failed tile: the problem in plain words and the one thing to
// do next. The engine's reason (error code, step, message) stays available for the engineer;
// this is the only place that turns it into advice, so the words stay consistent and tested.

#include "provisioning/device_job.h"

#include <QCoreApplication>

namespace keyline::ui {

enum class FailureAction {
    None,         // passed, or nothing for the worker to do
    Replug,       // a link problem: unplug and plug the device in again
    Scrap,        // the device can never be provisioned: set it aside as scrap
    NotGenuine,   // the chip failed its genuineness check: set aside, no secret went to it
    CallEngineer, // the station (HSM, database, order files) has a problem, not the device
    Unplug,       // the order needs no more devices: take it out, use it for another order
};

struct FailureAdvice {
    FailureAction action = FailureAction::None;
    QString problem; // one short sentence: what went wrong
    QString todo;    // one short imperative: what to do now
};

class FailureAdvisor {
    Q_DECLARE_TR_FUNCTIONS(FailureAdvisor)
public:
    // Uses pass, failedStep, errorCode, errorDetail, scrapped and reason. Without an error
    // code the device is assumed at fault (re-plug, then the engineer).
    static FailureAdvice adviceFor(const provisioning::DeviceResult& result);
};

} // namespace keyline::ui
