// UsbTransport and UsbPortProvider against wearables emulated through umockdev. The device
// behind the emulation here is a small scripted one (identify, echo, reset); the full protocol
// suite over USB with the real simulator is test_protocol_usb.

#include "flashing/device_client.h"
#include "flashing/frame.h"
#include "flashing/usb_transport.h"
#include "umockdev_wearable.h"

#include <QRandomGenerator>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <future>
#include <mutex>

using namespace keyline;
using namespace keyline::flashing;
using keyline::usbtest::EmulatedDeviceSpec;
using keyline::usbtest::UmockdevWearable;
using namespace std::chrono_literals;

namespace {

// Answers identify with a fixed identity, reset with an empty answer and then a dropped link,
// and every other request by echoing its payload back.
class ScriptedWearable final : public sim::PortSession {
public:
    explicit ScriptedWearable(int port)
        : m_port(port) {}

    Output feed(const char* data, qsizetype size) override {
        Output out;
        m_decoder.feed(data, static_cast<int>(size));
        while (auto frame = m_decoder.next()) {
            if (!*frame)
                return {out.bytes, true, {}}; // lost the frame boundary: drop the link
            const protocol::Frame& f = **frame;
            QByteArray payload = f.payload;
            if (f.command == static_cast<std::uint16_t>(protocol::Command::Identify)) {
                protocol::IdentifyInfo info;
                info.chipUid = chipUid(m_port);
                info.hardwareRevision = QStringLiteral("usb-test");
                info.bootRomVersion = QStringLiteral("1.0");
                info.maxChunk = 1048564;
                payload = info.encode();
            }
            protocol::appendFrame(out.bytes, protocol::FlagResponse, f.command, f.sequence,
                                  payload.constData(), static_cast<int>(payload.size()));
            if (f.command == static_cast<std::uint16_t>(protocol::Command::Reset)) {
                out.disconnect = true;
                break;
            }
        }
        return out;
    }

    static QByteArray chipUid(int port) {
        return QByteArray("chip-on-port-") + QByteArray::number(port);
    }

private:
    int m_port;
    protocol::FrameDecoder m_decoder;
};

usbtest::SessionFactory scripted() {
    return [](int port) {
        return std::make_unique<ScriptedWearable>(port);
    };
}

// The emulation must exist before the provider's first libusb_init, and outlive it.
struct UsbBench {
    UmockdevWearable usb{scripted()};
    UsbPortProvider provider;

    UsbBench() { REQUIRE(UmockdevWearable::mockEnvironment()); }

    // libusb learns of a plug-in through a uevent, handled on its own thread.
    QList<PortInfo> waitForPorts(qsizetype count, Millis limit = 3000ms) {
        auto deadline = Deadline::in(limit);
        for (;;) {
            auto ports = provider.scan();
            REQUIRE(ports.ok());
            if (ports->size() == count || deadline.expired())
                return *ports;
            std::this_thread::sleep_for(10ms);
        }
    }

    std::unique_ptr<Transport> open(int port) {
        PortInfo p;
        p.endpoint = UmockdevWearable::endpoint(port);
        auto deadline = Deadline::in(3000ms);
        for (;;) {
            auto t = provider.open(p);
            if (t.ok())
                return std::move(t).value();
            if (deadline.expired())
                FAIL(t.error().toString().toStdString());
            std::this_thread::sleep_for(10ms);
        }
    }
};

// Collects hotplug events from the provider's thread.
struct EventLog {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<PortEvent> events;

    PortEventHandler handler() {
        return [this](const PortEvent& e) {
            std::lock_guard lock(mutex);
            events.push_back(e);
            changed.notify_all();
        };
    }
    bool waitFor(qsizetype count, Millis limit = 3000ms) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, limit, [&] { return qsizetype(events.size()) >= count; });
    }
    std::vector<PortEvent> snapshot() {
        std::lock_guard lock(mutex);
        return events;
    }
};

QByteArray pattern(qsizetype size, quint32 seed) {
    QByteArray bytes(size, Qt::Uninitialized);
    QRandomGenerator rng(seed);
    rng.fillRange(reinterpret_cast<quint32*>(bytes.data()), size / 4);
    return bytes;
}

} // namespace

TEST_CASE("scan lists emulated wearables by their physical port") {
    UsbBench bench;
    bench.usb.plug(3);
    bench.usb.plug(5);
    auto ports = bench.waitForPorts(2);
    REQUIRE(ports.size() == 2);
    CHECK(ports[0].endpoint == QStringLiteral("usb:1-3"));
    CHECK(ports[1].endpoint == QStringLiteral("usb:1-5"));
    CHECK(ports[0].kind == QStringLiteral("usb"));
    CHECK(ports[0].description.contains(QStringLiteral("1209:4b4c")));
    CHECK(ports[0].address.startsWith(QStringLiteral("1:")));
}

TEST_CASE("identify round trip over bulk OUT and IN") {
    UsbBench bench;
    bench.usb.plug(1);
    bench.waitForPorts(1);
    auto transport = bench.open(1);
    CHECK(transport->port().endpoint == QStringLiteral("usb:1-1"));
    auto* usb = dynamic_cast<UsbTransport*>(transport.get());
    REQUIRE(usb);
    CHECK(usb->inEndpoint() == 0x81);
    CHECK(usb->outEndpoint() == 0x01);
    DeviceClient client(std::move(transport));
    auto info = client.identify();
    REQUIRE(info.ok());
    CHECK(info->chipUid == ScriptedWearable::chipUid(1));
    CHECK(info->hardwareRevision == QStringLiteral("usb-test"));
    // Several exchanges on one link stay in step.
    for (int i = 0; i < 5; ++i) {
        auto again = client.identify();
        REQUIRE(again.ok());
        CHECK(again->chipUid == ScriptedWearable::chipUid(1));
    }
    CHECK(bench.usb.sessionsOpened(1) == 1);
}

TEST_CASE("1 MiB payloads cross the link intact in both directions") {
    UsbBench bench;
    bench.usb.plug(2);
    bench.waitForPorts(1);
    DeviceLink link(bench.open(2));
    for (quint32 seed : {1u, 2u}) {
        QByteArray payload = pattern(protocol::kMaxPayload, seed);
        auto answer = link.exchange(protocol::Command::FlashChunk, payload, Deadline::in(20000ms));
        REQUIRE(answer.ok());
        REQUIRE(answer->size() == payload.size());
        CHECK(*answer == payload);
    }
    // Odd sizes around the packet size, so short and full last packets both occur.
    for (qsizetype size : {0, 1, 491, 492, 493, 1004, 4096, 65536 + 7}) {
        QByteArray payload = pattern(size + 4, quint32(size)).left(size);
        auto answer = link.exchange(protocol::Command::FlashChunk, payload, Deadline::in(5000ms));
        REQUIRE(answer.ok());
        CHECK(*answer == payload);
    }
}

TEST_CASE("a read with nothing to read times out promptly and the link stays usable") {
    UsbBench bench;
    bench.usb.plug(1);
    bench.waitForPorts(1);
    auto transport = bench.open(1);
    char buffer[64];
    auto started = Clock::now();
    auto r = transport->read(buffer, sizeof(buffer), Deadline::in(150ms));
    auto took = Clock::now() - started;
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::Timeout);
    CHECK(r.error().message().contains(QStringLiteral("usb:1-1")));
    CHECK(took >= 140ms);
    CHECK(took < 1500ms);
    // libusb cancelled the bulk IN URB; the emulation saw the discard and reaped it.
    CHECK(bench.usb.discardedUrbs() >= 1);

    // An expired deadline still fails fast rather than waiting forever (libusb's 0 = infinite).
    started = Clock::now();
    r = transport->read(buffer, sizeof(buffer), Deadline::in(0ms));
    CHECK_FALSE(r.ok());
    CHECK(Clock::now() - started < 1000ms);

    DeviceClient client(std::move(transport));
    auto info = client.identify();
    REQUIRE(info.ok());
    CHECK(info->chipUid == ScriptedWearable::chipUid(1));
}

namespace {

// One identify exchange on a raw transport; the chip UID it answered, or the error.
Result<QByteArray> identifyRaw(Transport& transport, std::uint32_t sequence) {
    QByteArray request;
    protocol::appendFrame(request, 0, static_cast<std::uint16_t>(protocol::Command::Identify),
                          sequence, nullptr, 0);
    KL_TRY(transport.write(request.constData(), request.size(), Deadline::in(2000ms)));
    protocol::FrameDecoder decoder;
    char buffer[4096];
    for (;;) {
        if (auto frame = decoder.next()) {
            if (!*frame)
                return frame->error();
            KL_TRY_ASSIGN(auto info, protocol::IdentifyInfo::decode((*frame)->payload));
            return info.chipUid;
        }
        KL_TRY_ASSIGN(qsizetype got, transport.read(buffer, sizeof(buffer), Deadline::in(2000ms)));
        decoder.feed(buffer, static_cast<int>(got));
    }
}

template <typename Predicate>
bool eventually(Predicate p, Millis limit = 3000ms) {
    auto deadline = Deadline::in(limit);
    while (!p()) {
        if (deadline.expired())
            return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

} // namespace

TEST_CASE("pulling the device fails a waiting read and then writes with Disconnected") {
    UsbBench bench;
    bench.usb.plug(4);
    bench.waitForPorts(1);
    auto transport = bench.open(4);
    auto uid = identifyRaw(*transport, 1);
    REQUIRE(uid.ok());
    CHECK(*uid == ScriptedWearable::chipUid(4));

    auto started = Clock::now();
    auto pending = std::async(std::launch::async, [&] {
        char buffer[64];
        return transport->read(buffer, sizeof(buffer), Deadline::in(10000ms));
    });
    std::this_thread::sleep_for(100ms);
    bench.usb.unplug(4);
    REQUIRE(pending.wait_for(3s) == std::future_status::ready);
    auto r = pending.get();
    CHECK(Clock::now() - started < 3s);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::Disconnected);
    CHECK(r.error().message().contains(QStringLiteral("usb:1-4")));

    auto w = transport->write("x", 1, Deadline::in(1000ms));
    REQUIRE_FALSE(w.ok());
    CHECK(w.error().code() == ErrorCode::Disconnected);

    CHECK(bench.waitForPorts(0).isEmpty());
    PortInfo gone;
    gone.endpoint = UmockdevWearable::endpoint(4);
    auto reopened = bench.provider.open(gone);
    REQUIRE_FALSE(reopened.ok());
    CHECK(reopened.error().code() == ErrorCode::Disconnected);
    CHECK(reopened.error().message().contains(QStringLiteral("usb:1-4")));
}

TEST_CASE("a device that drops the link after reset re-enumerates on the same port") {
    UsbBench bench;
    bench.usb.plug(1);
    bench.waitForPorts(1);
    DeviceClient client(bench.open(1));
    REQUIRE(client.identify().ok());
    auto reset = client.reset();
    CHECK(reset.ok()); // the answer comes before the link drops
    REQUIRE(eventually([&] { return bench.usb.removals(1) == 1; }));
    auto after = client.identify();
    REQUIRE_FALSE(after.ok());
    CHECK(after.error().code() == ErrorCode::Disconnected);

    // Same socket, new device address: the endpoint name does not change.
    REQUIRE(eventually([&] { return bench.usb.plugged(1); }));
    DeviceClient again(bench.open(1));
    auto info = again.identify();
    REQUIRE(info.ok());
    CHECK(info->chipUid == ScriptedWearable::chipUid(1));
    CHECK(again.port().endpoint == QStringLiteral("usb:1-1"));
    CHECK(bench.usb.sessionsOpened(1) == 2);
}

TEST_CASE("hotplug reports present devices then arrivals and removals") {
    UsbBench bench;
    bench.usb.plug(2);
    bench.waitForPorts(1);
    EventLog log;
    REQUIRE(bench.provider.watch(log.handler()).ok());
    REQUIRE(log.waitFor(1));
    bench.usb.plug(6);
    REQUIRE(log.waitFor(2));
    bench.usb.unplug(6);
    REQUIRE(log.waitFor(3));
    // A link in use does not stop events, and events do not disturb the link.
    {
        DeviceClient client(bench.open(2));
        REQUIRE(client.identify().ok());
        bench.usb.plug(7);
        REQUIRE(log.waitFor(4));
        REQUIRE(client.identify().ok());
    }
    auto started = Clock::now();
    bench.provider.stopWatching();
    CHECK(Clock::now() - started < 500ms);

    auto events = log.snapshot();
    REQUIRE(events.size() == 4);
    CHECK(events[0].kind == PortEventKind::Arrived);
    CHECK(events[0].port.endpoint == QStringLiteral("usb:1-2"));
    CHECK(events[1].kind == PortEventKind::Arrived);
    CHECK(events[1].port.endpoint == QStringLiteral("usb:1-6"));
    CHECK(events[2].kind == PortEventKind::Removed);
    CHECK(events[2].port.endpoint == QStringLiteral("usb:1-6"));
    CHECK(events[3].kind == PortEventKind::Arrived);
    CHECK(events[3].port.endpoint == QStringLiteral("usb:1-7"));
}

TEST_CASE("hotplug by periodic rescan where libusb has no hotplug support") {
    UsbBench bench;
    bench.provider.forcePolling(50ms);
    bench.usb.plug(3);
    bench.waitForPorts(1);
    EventLog log;
    REQUIRE(bench.provider.watch(log.handler()).ok());
    REQUIRE(log.waitFor(1));
    bench.usb.unplug(3);
    REQUIRE(log.waitFor(2));
    auto started = Clock::now();
    bench.provider.stopWatching();
    CHECK(Clock::now() - started < 500ms);
    auto events = log.snapshot();
    REQUIRE(events.size() == 2);
    CHECK(events[0].kind == PortEventKind::Arrived);
    CHECK(events[1].kind == PortEventKind::Removed);
    CHECK(events[1].port.endpoint == QStringLiteral("usb:1-3"));
}

TEST_CASE("devices with other USB IDs are not listed unless configured") {
    UsbBench bench;
    EmulatedDeviceSpec other;
    other.vendorId = 0x1234;
    other.productId = 0x5678;
    bench.usb.plug(1, other);
    bench.usb.plug(2);
    auto ports = bench.waitForPorts(1);
    REQUIRE(ports.size() == 1);
    CHECK(ports[0].endpoint == QStringLiteral("usb:1-2"));

    UsbPortProvider custom(UsbIds{0x1234, 0x5678});
    auto mine = custom.scan();
    REQUIRE(mine.ok());
    REQUIRE(mine->size() == 1);
    CHECK(mine->at(0).endpoint == QStringLiteral("usb:1-1"));
    CHECK(mine->at(0).description.contains(QStringLiteral("1234:5678")));
}

TEST_CASE("a device without the Keyline interface gets a clear error") {
    UsbBench bench;
    EmulatedDeviceSpec storage; // same IDs, but a mass-storage interface
    storage.interfaceClass = 0x08;
    storage.interfaceSubclass = 0x06;
    storage.interfaceProtocol = 0x50;
    bench.usb.plug(1, storage);
    auto ports = bench.waitForPorts(1);
    REQUIRE(ports.size() == 1);
    auto t = bench.provider.open(ports[0]);
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().code() == ErrorCode::ProtocolViolation);
    CHECK(t.error().message().contains(QStringLiteral("usb:1-1")));
    CHECK(t.error().message().contains(QStringLiteral("no Keyline interface")));
    CHECK(bench.usb.sessionsOpened(1) == 0);
}

TEST_CASE("a claimed device is refused to a second opener and a closed link reports Disconnected") {
    UsbBench bench;
    bench.usb.plug(1);
    auto ports = bench.waitForPorts(1);
    REQUIRE(ports.size() == 1);
    auto first = bench.open(1);
    auto second = bench.provider.open(ports[0]);
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().code() == ErrorCode::EnvironmentNotReady);
    CHECK(second.error().message().contains(QStringLiteral("in use")));

    first->close();
    char c;
    auto r = first->read(&c, 1, Deadline::in(100ms));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::Disconnected);
    // Once released, the device can be opened again.
    auto third = bench.open(1);
    CHECK(identifyRaw(*third, 7).valueOr({}) == ScriptedWearable::chipUid(1));
}

TEST_CASE("a transport keeps working after its provider is gone") {
    UmockdevWearable usb(scripted());
    usb.plug(2);
    auto provider = std::make_unique<UsbPortProvider>();
    std::unique_ptr<Transport> transport;
    REQUIRE(eventually([&] {
        PortInfo p;
        p.endpoint = UmockdevWearable::endpoint(2);
        auto t = provider->open(p);
        if (t.ok())
            transport = std::move(t).value();
        return t.ok();
    }));
    provider.reset(); // the transport holds the libusb context
    auto uid = identifyRaw(*transport, 3);
    REQUIRE(uid.ok());
    CHECK(*uid == ScriptedWearable::chipUid(2));
}
