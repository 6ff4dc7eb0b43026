// The device protocol suite over Unix sockets: Simulator::startServing() in a temp socket dir.
#include "flashing/device_client.h"
#include "flashing/socket_transport.h"
#include "sim/simulator.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QSet>
#include <QTemporaryDir>
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

namespace {

class LinkFixture {
public:
    explicit LinkFixture(keyline::sim::SimOptions options)
        : m_options(std::move(options)) {
        REQUIRE(m_stateDir.isValid());
        REQUIRE(m_socketDir.isValid());
        if (m_options.stateDir.isEmpty())
            m_options.stateDir = m_stateDir.path();
        // Unix socket paths are limited to 107 bytes: keep them short, under /tmp.
        m_options.socketDir = m_socketDir.path();
        start();
    }

    std::unique_ptr<keyline::flashing::Transport> openTransport(int port = 1) {
        keyline::flashing::PortInfo info;
        info.endpoint = QStringLiteral("sim:port-%1").arg(port, 2, 10, QLatin1Char('0'));
        info.kind = QStringLiteral("sim");
        info.address = m_simulator->socketPath(port);
        auto transport = keyline::flashing::SocketTransport::connect(info);
        if (!transport)
            return nullptr;
        return std::move(*transport);
    }

    std::unique_ptr<keyline::flashing::DeviceClient> connect(int port = 1) {
        auto transport = openTransport(port);
        if (!transport)
            return nullptr;
        return std::make_unique<keyline::flashing::DeviceClient>(std::move(transport));
    }

    keyline::sim::Simulator& simulator() { return *m_simulator; }

    void restart() {
        m_simulator.reset();
        start();
    }

    QString socketDir() const { return m_socketDir.path(); }

private:
    void start() {
        m_simulator = std::make_unique<keyline::sim::Simulator>(m_options);
        auto served = m_simulator->startServing();
        INFO((served.ok() ? QString() : served.error().toString()).toStdString());
        REQUIRE(served.ok());
    }

    keyline::sim::SimOptions m_options;
    QTemporaryDir m_stateDir;
    QTemporaryDir m_socketDir{QStringLiteral("/tmp/kls-XXXXXX")};
    std::unique_ptr<keyline::sim::Simulator> m_simulator;
};

} // namespace

#include "protocol_suite.inc"

TEST_CASE("socket files exist only while a device is in the port", "[device][socket]") {
    keyline::sim::SimOptions options = keyline::devicetest::suiteOptions();
    options.devicesPerPort = 2;
    options.replugDelay = std::chrono::milliseconds(300);
    LinkFixture f(options);
    const QString path = QDir(f.socketDir()).filePath(QStringLiteral("port-01.sock"));
    CHECK(QFileInfo::exists(path));
    auto client = f.connect();
    REQUIRE(client->factoryLock().ok());
    client.reset();
    bool sawEmpty = false;
    bool sawBack = false;
    for (int i = 0; i < 300 && !sawBack; ++i) {
        const bool exists = QFileInfo::exists(path);
        sawEmpty = sawEmpty || !exists;
        sawBack = sawEmpty && exists;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(sawEmpty);
    CHECK(sawBack);
}

TEST_CASE("premanufactured devices are all made before serving and plugged in turn",
          "[device][socket]") {
    keyline::sim::SimOptions options = keyline::devicetest::suiteOptions();
    options.devicesPerPort = 3;
    options.premanufacture = true;
    LinkFixture f(options);
    const QDir devices(QDir(f.simulator().options().stateDir).filePath(QStringLiteral("devices")));
    const QStringList made = devices.entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    REQUIRE(made.size() == options.ports * options.devicesPerPort);

    QSet<QByteArray> seen;
    for (int n = 1; n <= options.devicesPerPort; ++n) {
        std::optional<keyline::sim::Simulator::PortSummary> now;
        for (int i = 0; i < 300; ++i) {
            now = f.simulator().portSummary(1);
            if (now && now->devicesSeen == n)
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        REQUIRE(now);
        REQUIRE(now->devicesSeen == n);
        const QString uid = QString::fromLatin1(now->chipUid.toHex());
        CHECK(made.contains(uid)); // made before serving, not at the plug-in
        CHECK_FALSE(seen.contains(now->chipUid));
        seen.insert(now->chipUid);
        // The port's socket file comes back a moment after the device is in the port.
        auto client = f.connect();
        for (int i = 0; i < 300 && !client; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            client = f.connect();
        }
        REQUIRE(client);
        REQUIRE(client->factoryLock().ok());
    }
    CHECK(devices.entryList(QDir::Dirs | QDir::NoDotAndDotDot).size() == made.size());
}

TEST_CASE("stopping the simulator removes its socket files", "[device][socket]") {
    QString path;
    QString dir;
    {
        LinkFixture f(keyline::devicetest::suiteOptions());
        dir = f.socketDir();
        path = QDir(dir).filePath(QStringLiteral("port-02.sock"));
        CHECK(QFileInfo::exists(path));
        f.simulator().stop();
        for (int i = 0; i < 100 && QFileInfo::exists(path); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        CHECK_FALSE(QFileInfo::exists(path));
    }
}

TEST_CASE("realistic timing makes the device take its time", "[device][socket][timing]") {
    keyline::sim::SimOptions options = keyline::devicetest::suiteOptions();
    options.timing = keyline::sim::Timing::realistic();
    options.timing.signature = std::chrono::milliseconds(80);
    LinkFixture f(options);
    auto client = f.connect();
    QElapsedTimer timer;
    timer.start();
    REQUIRE(client->challenge(QByteArray(16, 'n')).ok());
    CHECK(timer.elapsed() >= 75);
}

TEST_CASE("a flooding device is a protocol violation and the station's input stays bounded",
          "[device][socket][fault][bounds]") {
    keyline::sim::SimOptions options =
        keyline::devicetest::suiteOptions({QStringLiteral("2:flood")});
    options.ports = 4;
    LinkFixture f(options);
    // The other ports work while port 2 floods.
    std::vector<std::thread> others;
    std::atomic<int> othersDone{0};
    for (int port : {1, 3, 4})
        others.emplace_back([&f, &othersDone, port] {
            auto client = f.connect(port);
            for (int i = 0; client && i < 20; ++i)
                if (!client->identify().ok() || !client->challenge(QByteArray(16, 'n')).ok())
                    return;
            othersDone += client ? 1 : 0;
        });

    auto flooded = f.connect(2);
    REQUIRE(flooded);
    REQUIRE(flooded->identify().ok()); // answered, then the same answer without end
    // Let the flood fill every buffer between the two sides.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    QElapsedTimer timer;
    timer.start();
    auto challenged = flooded->challenge(QByteArray(16, 'n'));
    REQUIRE_FALSE(challenged.ok());
    INFO(challenged.error().toString().toStdString());
    CHECK(challenged.error().code() == keyline::ErrorCode::ProtocolViolation);
    CHECK(challenged.error().message().contains(QStringLiteral("expected the answer to")));
    CHECK(timer.elapsed() < flooded->timeouts().command.count());
    CHECK(flooded->link().broken());
    CHECK(flooded->link().peakBufferedBytes() > 0);
    CHECK(flooded->link().peakBufferedBytes() <= keyline::flashing::DeviceLink::kMaxBufferedInput);
    flooded.reset();

    for (std::thread& t : others)
        t.join();
    CHECK(othersDone == 3);
    // Closing the link ended the flood: the port serves the next connection.
    auto again = f.connect(2);
    REQUIRE(again);
    CHECK(again->identify().ok());
}
