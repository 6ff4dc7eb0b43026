#pragma once

// The two ways metrics leave the station, as [metrics] in keyline.conf configures them
// (docs/configuration.md): the HTTP endpoint and the node_exporter textfile. Both are off by
// default. A background thread refreshes the values that must be read from elsewhere (the
// outbox depth from the database) and rewrites the textfile every interval; stop() does both
// once more, so the file holds the end of the run.

#include "metrics/http_endpoint.h"
#include "metrics/metrics_settings.h"
#include "metrics/registry.h"

#include <condition_variable>
#include <functional>
#include <thread>

namespace keyline::metrics {

class MetricsExport {
public:
    // Binds the endpoint and writes the textfile once before returning, so a wrong address or
    // directory is reported before the first device (EnvironmentNotReady / Io). `refresh` runs
    // on the export thread before each write and at stop(); it may be empty.
    static Result<std::unique_ptr<MetricsExport>>
    start(const Registry& registry, const MetricsSettings& settings, std::function<void()> refresh);
    ~MetricsExport(); // stop()

    // Ends the refresh thread after one last refresh and textfile write. Idempotent.
    void stop();
    // The endpoint's port (the one picked when the setting asked for port 0); 0 without one.
    quint16 httpPort() const;

private:
    MetricsExport(const Registry& registry, MetricsSettings settings,
                  std::function<void()> refresh);
    Result<void> refreshAndWrite();
    void loop();

    const Registry& m_registry;
    MetricsSettings m_settings;
    std::function<void()> m_refresh;
    std::unique_ptr<HttpEndpoint> m_http;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stopping = false;
    bool m_lastWriteFailed = false;
    std::thread m_thread;
};

} // namespace keyline::metrics
