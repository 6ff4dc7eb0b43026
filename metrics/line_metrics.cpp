#include "metrics/line_metrics.h"

namespace keyline::metrics {
namespace {

using provisioning::JobEventKind;
using provisioning::Step;

// Steps take from milliseconds (keystore on a virtual device) to minutes (a large flash over
// USB full speed).
const std::vector<double> kStepBuckets{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                       2.5,  5,     10,   30,  60,   120, 300};

const QString kStepDuration = QStringLiteral("keyline_step_duration_seconds");
const QString kStepHelp =
    QStringLiteral("Duration of each provisioning step, by step and outcome.");

Labels with(Labels labels, std::initializer_list<Label> more) {
    labels.insert(labels.end(), more);
    return labels;
}

} // namespace

LineMetrics::LineMetrics(Registry& registry, const QString& station, const QString& order)
    : m_registry(registry)
    , m_run{{QStringLiteral("station"), station}, {QStringLiteral("order"), order}}
    , m_passed(registry.counter(QStringLiteral("keyline_units_passed_total"),
                                QStringLiteral("Devices provisioned and locked by this station."),
                                m_run))
    , m_alreadyProvisioned(registry.counter(
          QStringLiteral("keyline_units_already_provisioned_total"),
          QStringLiteral("Devices plugged in that were provisioned before: nothing left to do."),
          m_run))
    , m_outboxPending(registry.gauge(
          QStringLiteral("keyline_outbox_pending"),
          QStringLiteral("Registrations in the outbox waiting for the back-end (all orders)."),
          {{QStringLiteral("station"), station}}))
    , m_hsm(registry, {{QStringLiteral("station"), station}}) {
    registry
        .gauge(QStringLiteral("keyline_build_info"),
               QStringLiteral("The station software: always 1, the version in a label."),
               {{QStringLiteral("version"), QStringLiteral(KEYLINE_VERSION)},
                {QStringLiteral("qt_version"), QString::fromLatin1(qVersion())},
                {QStringLiteral("station"), station}})
        .set(1);
    for (Step step : provisioning::kAllSteps)
        m_stepOk[std::size_t(step)] = &stepDurations(step, true);
}

Histogram& LineMetrics::stepDurations(Step step, bool ok) {
    return m_registry.histogram(
        kStepDuration, kStepHelp,
        with(m_run,
             {{QStringLiteral("step"), provisioning::stepName(step)},
              {QStringLiteral("outcome"), ok ? QStringLiteral("ok") : QStringLiteral("failed")}}),
        kStepBuckets);
}

void LineMetrics::observeStep(const QString& port, Step step, bool ok) {
    Clock::time_point since;
    {
        std::lock_guard lock(m_mutex);
        auto it = m_running.find(port);
        // A job that failed before it started the step it names (e.g. identify before the
        // image key) has no duration for it.
        if (it == m_running.end() || it->second.step != step)
            return;
        since = it->second.since;
        m_running.erase(it);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - since).count();
    Histogram* h = ok ? m_stepOk[std::size_t(step)] : nullptr;
    if (!h) {
        std::lock_guard lock(m_mutex);
        Histogram*& failed = m_stepFailed[std::size_t(step)];
        if (!failed)
            failed = &stepDurations(step, false);
        h = failed;
    }
    h->observe(seconds);
}

void LineMetrics::onEvent(const provisioning::JobEvent& event) {
    switch (event.kind) {
    case JobEventKind::StepStarted:
        if (event.step) {
            std::lock_guard lock(m_mutex);
            m_running[event.port] = Running{*event.step, Clock::now()};
        }
        return;
    case JobEventKind::StepDone:
        if (event.step)
            observeStep(event.port, *event.step, true);
        return;
    case JobEventKind::Finished:
        break;
    case JobEventKind::Started:
    case JobEventKind::Assigned:
    case JobEventKind::FlashProgress:
        return;
    }
    if (event.ok) {
        (event.alreadyProvisioned ? m_alreadyProvisioned : m_passed).inc();
        return;
    }
    if (event.step)
        observeStep(event.port, *event.step, false);
    {
        std::lock_guard lock(m_mutex);
        m_running.erase(event.port);
    }
    const QString error =
        event.errorCode ? errorCodeName(*event.errorCode) : QStringLiteral("unknown");
    const QString step = event.step ? provisioning::stepName(*event.step) : QStringLiteral("none");
    // Registered on first use, a registry lookup per failure: steps x error kinds is bounded
    // but mostly empty, and failures are rare.
    m_registry
        .counter(QStringLiteral("keyline_units_failed_total"),
                 QStringLiteral("Devices that failed, by the step that failed and the kind of "
                                "error."),
                 with(m_run, {{QStringLiteral("step"), step}, {QStringLiteral("error"), error}}))
        .inc();
}

void LineMetrics::setOutboxPending(int pending) noexcept {
    m_outboxPending.set(pending);
}

} // namespace keyline::metrics
