#pragma once

// The line metrics of one production run as [metrics] in keyline.conf asks for them, built the
// same way by `keyline run` and the GUI: the registry, the metric set fed with the run's job
// events, and the export. With [metrics] off nothing is counted or timed.

#include "metrics/line_metrics.h"
#include "metrics/metrics_export.h"
#include "provisioning/db_records.h"

#include <optional>

namespace keyline::metrics {

class RunMetrics {
public:
    RunMetrics(const MetricsSettings& settings, const QString& station, const QString& order);

    // For prepareRun(): the HSM calls are timed into it; null when metrics are off.
    LineMetrics* line() { return m_line ? &*m_line : nullptr; }
    // Thread-safe; pass every JobEvent of the run.
    void onEvent(const provisioning::JobEvent& event);

    // Binds the endpoint and writes the textfile (null when metrics are off); the outbox depth
    // is read through `records`. Keep the export where it is destroyed before `records`, and
    // stop() it after the run's last registration sync so the file holds the end of the run.
    Result<std::unique_ptr<MetricsExport>> startExport(provisioning::DbRecords& records);

private:
    MetricsSettings m_settings;
    Registry m_registry;
    std::optional<LineMetrics> m_line;
};

} // namespace keyline::metrics
