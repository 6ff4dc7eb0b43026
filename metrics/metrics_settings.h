#pragma once

#include <QString>

namespace keyline::metrics {

// [metrics] in keyline.conf (docs/configuration.md). Both ways out are off by default.
struct MetricsSettings {
    QString listen;        // HOST:PORT of the HTTP endpoint; empty: no endpoint
    QString textfile;      // absolute path of the .prom file; empty: no file
    int intervalMs = 5000; // how often the textfile and the outbox depth are refreshed
    bool enabled() const { return !listen.isEmpty() || !textfile.isEmpty(); }
};

} // namespace keyline::metrics
