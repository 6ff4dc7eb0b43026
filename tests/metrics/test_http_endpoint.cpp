// The scrape endpoint: GET /metrics answers the exposition with the 0.0.4 content type; other
// paths are 404, other methods 405, garbage 400; the address parser takes what [metrics]
// listen documents.
#include "metrics/exposition.h"
#include "metrics/http_endpoint.h"

#include <QTcpSocket>
#include <catch2/catch.hpp>

using namespace keyline;
using namespace keyline::metrics;

namespace {

struct Reply {
    QByteArray status; // "HTTP/1.1 200 OK"
    QByteArray head;
    QByteArray body;
    QByteArray header(const QByteArray& name) const {
        for (const QByteArray& line : head.split('\n'))
            if (line.toLower().startsWith(name.toLower() + ':'))
                return line.mid(name.size() + 1).trimmed();
        return {};
    }
};

// One request on a fresh connection, read until the server closes it.
Reply ask(quint16 port, const QByteArray& request) {
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    REQUIRE(socket.waitForConnected(5000));
    socket.write(request);
    REQUIRE(socket.waitForBytesWritten(5000));
    QByteArray all;
    while (socket.state() == QAbstractSocket::ConnectedState && socket.waitForReadyRead(5000))
        all += socket.readAll();
    all += socket.readAll();
    const qsizetype split = all.indexOf("\r\n\r\n");
    REQUIRE(split > 0);
    Reply r;
    r.head = all.left(split);
    r.status = r.head.left(r.head.indexOf("\r\n"));
    r.body = all.mid(split + 4);
    return r;
}

std::unique_ptr<HttpEndpoint> startOnFreePort(const Registry& registry) {
    auto address = parseListenAddress(QStringLiteral("127.0.0.1:0"));
    REQUIRE(address.ok());
    auto endpoint = HttpEndpoint::start(registry, *address);
    REQUIRE(endpoint.ok());
    REQUIRE((*endpoint)->port() != 0);
    return std::move(*endpoint);
}

} // namespace

TEST_CASE("GET /metrics answers the exposition as text format 0.0.4", "[metrics][http]") {
    Registry registry;
    registry.counter(QStringLiteral("keyline_units_passed_total"), QStringLiteral("p")).inc(5);
    auto endpoint = startOnFreePort(registry);
    const Reply r = ask(endpoint->port(), "GET /metrics HTTP/1.1\r\nHost: station\r\n\r\n");
    CHECK(r.status == "HTTP/1.1 200 OK");
    CHECK(r.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(r.header("Content-Length").toInt() == r.body.size());
    CHECK(r.body == registry.expose());
    CHECK(r.body.contains("keyline_units_passed_total 5\n"));
    // Values are read at scrape time.
    registry.counter(QStringLiteral("keyline_units_passed_total"), QStringLiteral("p")).inc();
    CHECK(ask(endpoint->port(), "GET /metrics?x=1 HTTP/1.0\r\n\r\n")
              .body.contains("keyline_units_passed_total 6\n"));
}

TEST_CASE("other paths are 404 and other methods 405", "[metrics][http]") {
    Registry registry;
    auto endpoint = startOnFreePort(registry);
    for (const char* request : {"GET / HTTP/1.1\r\n\r\n", "GET /metricsx HTTP/1.1\r\n\r\n",
                                "GET /metrics/ HTTP/1.1\r\n\r\n", "POST /other HTTP/1.1\r\n\r\n"}) {
        INFO(request);
        CHECK(ask(endpoint->port(), request).status == "HTTP/1.1 404 Not Found");
    }
    for (const char* request :
         {"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "HEAD /metrics HTTP/1.1\r\n\r\n",
          "DELETE /metrics HTTP/1.1\r\n\r\n"}) {
        INFO(request);
        const Reply r = ask(endpoint->port(), request);
        CHECK(r.status == "HTTP/1.1 405 Method Not Allowed");
        CHECK(r.header("Allow") == "GET");
        CHECK_FALSE(r.body.contains("keyline"));
    }
}

TEST_CASE("a malformed or oversized request is refused", "[metrics][http]") {
    Registry registry;
    auto endpoint = startOnFreePort(registry);
    CHECK(ask(endpoint->port(), "hello\r\n\r\n").status == "HTTP/1.1 400 Bad Request");
    CHECK(ask(endpoint->port(), "GET /metrics SPDY/3\r\n\r\n").status ==
          "HTTP/1.1 400 Bad Request");
    const QByteArray huge = "GET /metrics HTTP/1.1\r\nX: " + QByteArray(10000, 'x');
    CHECK(ask(endpoint->port(), huge).status == "HTTP/1.1 431 Request Header Fields Too Large");
}

TEST_CASE("a port in use is an environment error naming the setting", "[metrics][http]") {
    Registry registry;
    auto first = startOnFreePort(registry);
    auto address = parseListenAddress(QStringLiteral("127.0.0.1:%1").arg(first->port()));
    REQUIRE(address.ok());
    auto second = HttpEndpoint::start(registry, *address);
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().code() == ErrorCode::EnvironmentNotReady);
    CHECK(second.error().toString().contains(QStringLiteral("[metrics] listen")));
}

TEST_CASE("listen addresses are HOST:PORT with brackets around IPv6", "[metrics][http]") {
    auto v4 = parseListenAddress(QStringLiteral("127.0.0.1:9464"));
    REQUIRE(v4.ok());
    CHECK(v4->host == QHostAddress(QHostAddress::LocalHost));
    CHECK(v4->port == 9464);
    auto v6 = parseListenAddress(QStringLiteral("[::1]:9464"));
    REQUIRE(v6.ok());
    CHECK(v6->host == QHostAddress(QHostAddress::LocalHostIPv6));
    for (const char* bad : {"9464", "localhost:9464", "::1:9464", "127.0.0.1:", "127.0.0.1:70000",
                            "127.0.0.1:-1", ":9464"}) {
        INFO(bad);
        auto r = parseListenAddress(QString::fromLatin1(bad));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code() == ErrorCode::BadInput);
    }
}
