#include "metrics/metrics_export.h"

#include "metrics/textfile.h"

namespace keyline::metrics {

MetricsExport::MetricsExport(const Registry& registry, MetricsSettings settings,
                             std::function<void()> refresh)
    : m_registry(registry)
    , m_settings(std::move(settings))
    , m_refresh(std::move(refresh)) {}

Result<std::unique_ptr<MetricsExport>> MetricsExport::start(const Registry& registry,
                                                            const MetricsSettings& settings,
                                                            std::function<void()> refresh) {
    std::unique_ptr<MetricsExport> e(new MetricsExport(registry, settings, std::move(refresh)));
    if (!settings.listen.isEmpty()) {
        KL_TRY_ASSIGN(const ListenAddress address, parseListenAddress(settings.listen));
        KL_TRY_ASSIGN(e->m_http, HttpEndpoint::start(registry, address));
    }
    KL_TRY(e->refreshAndWrite());
    e->m_thread = std::thread([raw = e.get()] { raw->loop(); });
    return e;
}

MetricsExport::~MetricsExport() {
    stop();
}

quint16 MetricsExport::httpPort() const {
    return m_http ? m_http->port() : 0;
}

Result<void> MetricsExport::refreshAndWrite() {
    if (m_refresh)
        m_refresh();
    if (m_settings.textfile.isEmpty())
        return success();
    return writeTextfile(m_settings.textfile, m_registry.expose());
}

void MetricsExport::loop() {
    std::unique_lock lock(m_mutex);
    while (!m_stopping) {
        m_wake.wait_for(lock, std::chrono::milliseconds(m_settings.intervalMs));
        if (m_stopping)
            break;
        lock.unlock();
        const Result<void> written = refreshAndWrite();
        // A full disk must not stop production: warn when writing starts failing, not on
        // every interval.
        if (!written && !m_lastWriteFailed)
            qWarning("%s", qUtf8Printable(written.error().toString()));
        m_lastWriteFailed = !written;
        lock.lock();
    }
}

void MetricsExport::stop() {
    {
        std::lock_guard lock(m_mutex);
        if (m_stopping)
            return;
        m_stopping = true;
    }
    m_wake.notify_all();
    // Without a thread start() failed: there is nothing to bring up to date.
    if (m_thread.joinable()) {
        m_thread.join();
        if (const Result<void> written = refreshAndWrite(); !written)
            qWarning("%s", qUtf8Printable(written.error().toString()));
    }
    m_http.reset();
}

} // namespace keyline::metrics
