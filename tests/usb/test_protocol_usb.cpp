// The device protocol suite over USB: the simulator's devices are emulated as USB devices
// through umockdev and reached with UsbPortProvider/UsbTransport, the code that drives real
// hardware. The socket variant runs the same suite over SocketTransport.

#include "flashing/device_client.h"
#include "flashing/usb_transport.h"
#include "sim/simulator.h"
#include "umockdev_wearable.h"

#include <QTemporaryDir>
#include <catch2/catch.hpp>
#include <thread>

namespace {

using namespace std::chrono_literals;

// The fixture protocol_suite.inc expects (see its head), over USB.
class LinkFixture {
public:
    explicit LinkFixture(keyline::sim::SimOptions options)
        : m_options(std::move(options)) {
        REQUIRE(m_stateDir.isValid());
        if (m_options.stateDir.isEmpty())
            m_options.stateDir = m_stateDir.path();
        // No sockets are served here; keep the default out of the user's runtime directory.
        if (m_options.socketDir.isEmpty())
            m_options.socketDir = m_stateDir.filePath(QStringLiteral("sockets"));
        startSimulator();
        // umockdev's testbed must exist before the provider's first libusb_init. The sessions
        // and the presence probe go to whichever simulator runs now (restart() replaces it
        // while no device is plugged).
        m_usb = std::make_unique<keyline::usbtest::UmockdevWearable>(
            [this](int port) { return m_simulator->openSession(port); },
            [this](int port) { return m_simulator->occupied(port); });
        REQUIRE(keyline::usbtest::UmockdevWearable::mockEnvironment());
        plugOccupiedPorts();
        m_provider = std::make_unique<keyline::flashing::UsbPortProvider>();
    }

    ~LinkFixture() {
        // libusb first, then the emulation (which owns the sessions), then the simulator.
        m_provider.reset();
        m_usb.reset();
        m_simulator.reset();
    }

    // The raw link to the device in `port`, or null when the port stays empty. A device that
    // just reset or was swapped re-enumerates first, as a real wearable does: wait for it.
    std::unique_ptr<keyline::flashing::Transport> openTransport(int port = 1) {
        keyline::flashing::PortInfo p;
        p.endpoint = keyline::usbtest::UmockdevWearable::endpoint(port);
        p.kind = QStringLiteral("usb");
        auto deadline = keyline::Deadline::in(5000ms);
        for (;;) {
            auto transport = m_provider->open(p);
            if (transport)
                return std::move(transport).value();
            if (!m_simulator->occupied(port) && !m_usb->plugged(port))
                return nullptr;
            if (deadline.expired()) {
                WARN(transport.error().toString().toStdString());
                return nullptr;
            }
            std::this_thread::sleep_for(10ms);
        }
    }

    std::unique_ptr<keyline::flashing::DeviceClient> connect(int port = 1) {
        auto transport = openTransport(port);
        if (!transport)
            return nullptr;
        return std::make_unique<keyline::flashing::DeviceClient>(std::move(transport));
    }

    keyline::sim::Simulator& simulator() { return *m_simulator; }
    keyline::usbtest::UmockdevWearable& usb() { return *m_usb; }

    // Stops the simulator and starts a new one on the same state: its devices leave the bus
    // and come back, as after a power cycle of the station's hub.
    void restart() {
        m_usb->unplugAll();
        m_simulator.reset();
        startSimulator();
        plugOccupiedPorts();
    }

private:
    void startSimulator() {
        m_simulator = std::make_unique<keyline::sim::Simulator>(m_options);
        auto loaded = m_simulator->load();
        INFO((loaded.ok() ? QString() : loaded.error().toString()).toStdString());
        REQUIRE(loaded.ok());
    }

    void plugOccupiedPorts() {
        for (int port = 1; port <= m_options.ports; ++port)
            if (m_simulator->occupied(port))
                m_usb->plug(port);
    }

    keyline::sim::SimOptions m_options;
    QTemporaryDir m_stateDir;
    std::unique_ptr<keyline::sim::Simulator> m_simulator;
    std::unique_ptr<keyline::usbtest::UmockdevWearable> m_usb;
    std::unique_ptr<keyline::flashing::UsbPortProvider> m_provider;
};

keyline::sim::SimOptions smokeOptions() {
    keyline::sim::SimOptions options;
    options.ports = 2;
    options.timing = keyline::sim::Timing::none();
    options.replugDelay = 20ms;
    return options;
}

} // namespace

// Runs before the suite exists, and afterwards checks the fixture itself.
TEST_CASE("usb fixture: simulated wearables answer over the emulated USB link") {
    LinkFixture fixture(smokeOptions());
    auto one = fixture.connect(1);
    auto two = fixture.connect(2);
    REQUIRE(one);
    REQUIRE(two);
    auto a = one->identify();
    auto b = two->identify();
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a->chipUid.size() > 0);
    CHECK(a->chipUid != b->chipUid);
    CHECK(one->port().endpoint == QStringLiteral("usb:1-1"));
    CHECK(fixture.simulator().portSummary(1)->chipUid == a->chipUid);
}

TEST_CASE("usb fixture: after a reset the same device answers again on the same port") {
    LinkFixture fixture(smokeOptions());
    auto client = fixture.connect(1);
    REQUIRE(client);
    auto before = client->identify();
    REQUIRE(before.ok());
    auto reset = client->reset();
    CHECK(reset.ok());
    client.reset();
    auto again = fixture.connect(1);
    REQUIRE(again);
    auto after = again->identify();
    REQUIRE(after.ok());
    CHECK(after->chipUid == before->chipUid);
    CHECK(fixture.usb().removals(1) >= 1);
}

#ifdef KEYLINE_HAVE_PROTOCOL_SUITE
#include "device/protocol_suite.inc" // needs station_side.h and suite_support.h
#endif
