#include "metrics/run_metrics.h"

namespace keyline::metrics {

RunMetrics::RunMetrics(const MetricsSettings& settings, const QString& station,
                       const QString& order)
    : m_settings(settings) {
    if (settings.enabled())
        m_line.emplace(m_registry, station, order);
}

void RunMetrics::onEvent(const provisioning::JobEvent& event) {
    if (m_line)
        m_line->onEvent(event);
}

Result<std::unique_ptr<MetricsExport>> RunMetrics::startExport(provisioning::DbRecords& records) {
    if (!m_line)
        return std::unique_ptr<MetricsExport>();
    LineMetrics& line = *m_line;
    return MetricsExport::start(m_registry, m_settings, [&line, &records] {
        // A failed read keeps the last depth: the database error shows in the run itself.
        if (const Result<int> pending = records.pendingRegistrations(); pending)
            line.setOutboxPending(*pending);
    });
}

} // namespace keyline::metrics
