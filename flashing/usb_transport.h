#pragma once

#include "flashing/transport.h"

#include <QByteArray>
#include <QHash>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

struct libusb_context;
struct libusb_device;
struct libusb_device_handle;

namespace keyline::flashing {

// USB IDs of the wearable in factory mode ([usb] vendor_id, product_id in keyline.conf).
struct UsbIds {
    std::uint16_t vendorId = 0x1209;
    std::uint16_t productId = 0x4b4c;
};

// The interface that carries the protocol (docs/device-protocol.md, "Transports").
inline constexpr std::uint8_t kUsbInterfaceClass = 0xFF; // vendor specific
inline constexpr std::uint8_t kUsbInterfaceSubclass = 0x4B;
inline constexpr std::uint8_t kUsbInterfaceProtocol = 0x01;

// One libusb context. The provider owns it and every transport it opened holds a reference, so
// a transport that outlives its provider still talks to a live context.
class UsbContext {
public:
    static Result<std::shared_ptr<UsbContext>> create();
    ~UsbContext();
    UsbContext(const UsbContext&) = delete;
    UsbContext& operator=(const UsbContext&) = delete;

    libusb_context* get() const { return m_context; }

private:
    explicit UsbContext(libusb_context* context)
        : m_context(context) {}
    libusb_context* m_context;
};

// The endpoint name of a device: "usb:<bus>-<port path>", the physical socket it is plugged
// into; the same for every device plugged into that socket.
QString usbEndpointName(libusb_device* device);

// Bulk IN/OUT link to the Keyline interface of one device.
class UsbTransport final : public Transport {
public:
    ~UsbTransport() override;
    // Opens `device`, finds the Keyline interface and its bulk endpoints and claims it.
    static Result<std::unique_ptr<UsbTransport>> open(std::shared_ptr<UsbContext> context,
                                                      libusb_device* device, const PortInfo& port);

    const PortInfo& port() const override { return m_port; }
    Result<void> write(const char* data, qsizetype size, Deadline deadline) override;
    Result<qsizetype> read(char* buffer, qsizetype max, Deadline deadline) override;
    void close() override;

    int interfaceNumber() const { return m_interface; }
    std::uint8_t inEndpoint() const { return m_inEndpoint; }
    std::uint8_t outEndpoint() const { return m_outEndpoint; }

private:
    UsbTransport(std::shared_ptr<UsbContext> context, PortInfo port, libusb_device_handle* handle);
    Error transferError(int code, const QString& what) const;
    Error disconnected(const QString& what) const;

    std::shared_ptr<UsbContext> m_context;
    PortInfo m_port;
    libusb_device_handle* m_handle;
    int m_interface = -1;
    std::uint8_t m_inEndpoint = 0;
    std::uint8_t m_outEndpoint = 0;
    int m_maxPacket = 512;
    // Bulk IN lands here; read() hands it out in pieces. Sized for the largest frame so a whole
    // answer fits one transfer.
    std::vector<unsigned char> m_inBuffer;
    qsizetype m_inPos = 0;
    qsizetype m_inLen = 0;
};

// Ports are USB devices with the configured IDs. Hotplug uses libusb's hotplug callbacks on the
// provider's own event thread, or periodic rescans where libusb has no hotplug support.
class UsbPortProvider final : public PortProvider {
public:
    // `context` may be shared with other providers; by default the provider creates its own
    // on first use (so that a test can set up its USB emulation before libusb_init).
    explicit UsbPortProvider(UsbIds ids = {}, std::shared_ptr<UsbContext> context = {});
    ~UsbPortProvider() override;

    const UsbIds& ids() const { return m_ids; }
    // Rescan every `interval` instead of using hotplug events (always done when libusb lacks
    // hotplug support). Takes effect at the next watch().
    void forcePolling(Millis interval);

    QString kind() const override { return QStringLiteral("usb"); }
    Result<QList<PortInfo>> scan() override;
    Result<std::unique_ptr<Transport>> open(const PortInfo& port) override;
    Result<void> watch(PortEventHandler handler) override;
    void stopWatching() override;

private:
    Result<std::shared_ptr<UsbContext>> context();
    void hotplugLoop(std::shared_ptr<UsbContext> context, PortEventHandler handler);
    void pollingLoop(PortEventHandler handler);
    void queueEvent(PortEvent event);
    friend struct UsbHotplugBridge; // the libusb callback, which needs libusb's types

    UsbIds m_ids;
    std::shared_ptr<UsbContext> m_context;
    std::mutex m_contextMutex;

    std::thread m_watcher;
    std::atomic<bool> m_stop{false};
    bool m_forcePolling = false;
    Millis m_pollInterval{500};
    int m_hotplugHandle = 0;
    bool m_hotplugRegistered = false;
    // Hotplug callbacks run in whichever thread handles libusb events (a transport's blocking
    // transfer can be that thread), so they only queue; the watcher thread delivers.
    std::mutex m_eventMutex;
    std::condition_variable m_wake;
    std::vector<PortEvent> m_pending;
};

} // namespace keyline::flashing
