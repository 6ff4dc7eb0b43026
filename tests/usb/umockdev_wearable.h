#pragma once

// Virtual wearables as USB devices, for testing UsbTransport with no hardware. A umockdev
// testbed fakes sysfs, udev and the usbfs device nodes inside this process; an ioctl handler
// answers libusb's usbdevfs requests and feeds the bulk OUT bytes to a sim::PortSession, whose
// answers come back on bulk IN.
//
// Create the UmockdevWearable before anything in the process calls libusb_init (that is, before
// the UsbPortProvider's first scan/open/watch), and destroy it after every libusb context.

#include "sim/simulator.h"

#include <QString>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

namespace keyline::usbtest {

// What the emulated device looks like on the bus.
struct EmulatedDeviceSpec {
    std::uint16_t vendorId = 0x1209;
    std::uint16_t productId = 0x4b4c;
    // The only interface; anything but ff/4b/01 is not a wearable in factory mode.
    std::uint8_t interfaceClass = 0xFF;
    std::uint8_t interfaceSubclass = 0x4B;
    std::uint8_t interfaceProtocol = 0x01;
    std::uint16_t maxPacket = 512; // high speed bulk
};

// Gives the device in `port` a fresh byte stream (a new connection), or nullptr for a port
// without a simulated device (the device then never answers).
using SessionFactory = std::function<std::unique_ptr<sim::PortSession>(int port)>;
// Whether a device is in `port` right now (sim::Simulator::occupied). When a session ends and
// the port turns empty (the simulator swaps a locked device for a fresh one), the emulated
// device is unplugged and plugged again once the port is occupied. Empty: always occupied.
using PresenceProbe = std::function<bool(int port)>;

class UmockdevWearable {
public:
    explicit UmockdevWearable(SessionFactory factory, PresenceProbe occupied = {});
    ~UmockdevWearable();
    UmockdevWearable(const UmockdevWearable&) = delete;
    UmockdevWearable& operator=(const UmockdevWearable&) = delete;

    // False when the umockdev preload library is not active in this process (then nothing
    // here is emulated and libusb would see the real buses).
    static bool mockEnvironment();

    // Plugs a device into root hub port `port` (1..15) of bus 1: endpoint "usb:1-<port>".
    void plug(int port, EmulatedDeviceSpec spec = {});
    // Pulls the device: libusb sees a removal, transfers in flight fail with ENODEV.
    void unplug(int port);
    // Pulls every device and waits until their sessions are closed; no device comes back by
    // itself until the next plug(). For restarting the simulator behind the sessions.
    void unplugAll();
    bool plugged(int port) const;
    static QString endpoint(int port);

    // When the session drops the link (reset, a fault), the device re-enumerates after a short
    // pause, like a rebooting wearable. On by default.
    void setReplugAfterDisconnect(bool on);

    // Observations for tests.
    int discardedUrbs() const; // URBs libusb cancelled (timeouts)
    int sessionsOpened(int port) const;
    int removals(int port) const; // removals seen on the port, pulled or dropped by the device

    struct Device; // one plugged-in device, internal

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace keyline::usbtest
