#pragma once

// GET /metrics over plain HTTP for a Prometheus server to scrape (docs/operator-guide.md,
// "Line metrics"). Deliberately tiny: one request per connection, no keep-alive, no TLS (bind
// it to loopback, or to a line network behind the station's firewall). Any other path is 404,
// any other method on /metrics is 405. It runs its own thread and event loop because
// `keyline run` blocks its main thread in the production run.

#include "common/result.h"
#include "metrics/registry.h"

#include <QHostAddress>
#include <QThread>
#include <memory>

namespace keyline::metrics {

struct ListenAddress {
    QHostAddress host;
    quint16 port = 0;
};

// "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464"; port 0 picks a free port (tests).
Result<ListenAddress> parseListenAddress(const QString& text);

class HttpEndpoint {
public:
    // Listening when it returns; EnvironmentNotReady when the address cannot be bound.
    // `registry` must outlive the endpoint: every scrape reads it.
    static Result<std::unique_ptr<HttpEndpoint>> start(const Registry& registry,
                                                       const ListenAddress& address);
    ~HttpEndpoint();

    quint16 port() const { return m_port; }

private:
    HttpEndpoint() = default;

    QThread m_thread;
    QObject* m_context = nullptr; // lives in m_thread; parent of the server and its sockets
    quint16 m_port = 0;
};

// The HTTP answer to one request head (request line and headers up to the blank line).
QByteArray httpResponse(const QByteArray& requestHead, const Registry& registry);

} // namespace keyline::metrics
