#include "flashing/usb_transport.h"

#include "flashing/frame.h"

#include <QSet>
#include <algorithm>
#include <cstring>
#include <libusb.h>

namespace keyline::flashing {
namespace {

// Large writes go out in pieces so the deadline is checked between them. A multiple of every
// bulk max packet size (64, 512, 1024), so no short packet splits a frame on the wire.
constexpr int kWriteChunk = 256 * 1024;

const QString kPermissionHint =
    QStringLiteral("add the udev rule from packaging/ or run as a user in plugdev");

QString libusbMessage(int code) {
    return QStringLiteral("%1 (%2)").arg(QString::fromUtf8(libusb_strerror(code)),
                                         QString::fromUtf8(libusb_error_name(code)));
}

QString hex4(std::uint16_t v) {
    return QStringLiteral("%1").arg(v, 4, 16, QLatin1Char('0'));
}

// libusb takes 0 as "wait forever"; an expired deadline still gets one short attempt.
unsigned int timeoutFor(const Deadline& deadline) {
    if (deadline.at() == Clock::time_point::max())
        return 0;
    return static_cast<unsigned int>(std::max(1, deadline.remainingMs()));
}

struct DeviceListDeleter {
    void operator()(libusb_device** list) const { libusb_free_device_list(list, 1); }
};
using DeviceList = std::unique_ptr<libusb_device*[], DeviceListDeleter>;

struct ConfigDeleter {
    void operator()(libusb_config_descriptor* c) const { libusb_free_config_descriptor(c); }
};
using ConfigPtr = std::unique_ptr<libusb_config_descriptor, ConfigDeleter>;

struct HandleDeleter {
    void operator()(libusb_device_handle* h) const { libusb_close(h); }
};
using HandlePtr = std::unique_ptr<libusb_device_handle, HandleDeleter>;

struct DeviceRef {
    void operator()(libusb_device* d) const { libusb_unref_device(d); }
};
using DevicePtr = std::unique_ptr<libusb_device, DeviceRef>;

Result<DeviceList> deviceList(libusb_context* context, ssize_t& count) {
    libusb_device** list = nullptr;
    count = libusb_get_device_list(context, &list);
    if (count < 0)
        return Error(ErrorCode::Io, QStringLiteral("cannot list USB devices: %1")
                                        .arg(libusbMessage(static_cast<int>(count))));
    return DeviceList(list);
}

// The port description of `device` if it carries the configured IDs.
std::optional<PortInfo> portFor(libusb_device* device, const UsbIds& ids) {
    libusb_device_descriptor desc{};
    if (libusb_get_device_descriptor(device, &desc) != 0)
        return std::nullopt;
    if (desc.idVendor != ids.vendorId || desc.idProduct != ids.productId)
        return std::nullopt;
    PortInfo p;
    p.endpoint = usbEndpointName(device);
    p.kind = QStringLiteral("usb");
    p.address = QStringLiteral("%1:%2")
                    .arg(libusb_get_bus_number(device))
                    .arg(libusb_get_device_address(device));
    p.description = QStringLiteral("USB device %1:%2 on bus %3 address %4")
                        .arg(hex4(desc.idVendor), hex4(desc.idProduct))
                        .arg(libusb_get_bus_number(device))
                        .arg(libusb_get_device_address(device));
    return p;
}

struct KeylineInterface {
    int number = -1;
    int altSetting = 0;
    std::uint8_t in = 0;
    std::uint8_t out = 0;
    int maxPacket = 512;
};

std::optional<KeylineInterface> findInterface(const libusb_config_descriptor& config) {
    for (int i = 0; i < config.bNumInterfaces; ++i) {
        const libusb_interface& iface = config.interface[i];
        for (int a = 0; a < iface.num_altsetting; ++a) {
            const libusb_interface_descriptor& alt = iface.altsetting[a];
            if (alt.bInterfaceClass != kUsbInterfaceClass ||
                alt.bInterfaceSubClass != kUsbInterfaceSubclass ||
                alt.bInterfaceProtocol != kUsbInterfaceProtocol)
                continue;
            KeylineInterface found;
            found.number = alt.bInterfaceNumber;
            found.altSetting = alt.bAlternateSetting;
            for (int e = 0; e < alt.bNumEndpoints; ++e) {
                const libusb_endpoint_descriptor& ep = alt.endpoint[e];
                if ((ep.bmAttributes & LIBUSB_TRANSFER_TYPE_MASK) != LIBUSB_TRANSFER_TYPE_BULK)
                    continue;
                if ((ep.bEndpointAddress & LIBUSB_ENDPOINT_DIR_MASK) == LIBUSB_ENDPOINT_IN) {
                    if (!found.in) {
                        found.in = ep.bEndpointAddress;
                        found.maxPacket = std::max<int>(ep.wMaxPacketSize & 0x7ff, 8);
                    }
                } else if (!found.out) {
                    found.out = ep.bEndpointAddress;
                }
            }
            if (found.in && found.out)
                return found;
        }
    }
    return std::nullopt;
}

} // namespace

// ---- context ---------------------------------------------------------------------------------

Result<std::shared_ptr<UsbContext>> UsbContext::create() {
    libusb_context* context = nullptr;
    int r = libusb_init(&context);
    if (r != 0)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("cannot initialise libusb: %1; is /dev/bus/usb available "
                                    "(in a container: pass the USB bus through)?")
                         .arg(libusbMessage(r)));
    return std::shared_ptr<UsbContext>(new UsbContext(context));
}

UsbContext::~UsbContext() {
    libusb_exit(m_context);
}

QString usbEndpointName(libusb_device* device) {
    std::uint8_t ports[8];
    int n = libusb_get_port_numbers(device, ports, sizeof(ports));
    int bus = libusb_get_bus_number(device);
    if (n <= 0) // a root hub, or a platform that cannot tell the topology
        return QStringLiteral("usb:%1-addr%2").arg(bus).arg(libusb_get_device_address(device));
    QStringList path;
    for (int i = 0; i < n; ++i)
        path.append(QString::number(ports[i]));
    return QStringLiteral("usb:%1-%2").arg(bus).arg(path.join(QLatin1Char('.')));
}

// ---- transport -------------------------------------------------------------------------------

UsbTransport::UsbTransport(std::shared_ptr<UsbContext> context, PortInfo port,
                           libusb_device_handle* handle)
    : m_context(std::move(context))
    , m_port(std::move(port))
    , m_handle(handle) {}

UsbTransport::~UsbTransport() {
    close();
}

Result<std::unique_ptr<UsbTransport>> UsbTransport::open(std::shared_ptr<UsbContext> context,
                                                         libusb_device* device,
                                                         const PortInfo& port) {
    libusb_device_handle* raw = nullptr;
    int r = libusb_open(device, &raw);
    if (r == LIBUSB_ERROR_ACCESS)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("%1: permission denied opening %2; %3")
                         .arg(port.endpoint, port.description, kPermissionHint));
    if (r == LIBUSB_ERROR_NO_DEVICE)
        return Error(ErrorCode::Disconnected,
                     QStringLiteral("%1: the device was unplugged before it could be opened")
                         .arg(port.endpoint));
    if (r != 0)
        return Error(ErrorCode::Io, QStringLiteral("%1: cannot open %2: %3")
                                        .arg(port.endpoint, port.description, libusbMessage(r)));
    HandlePtr handle(raw);

    libusb_config_descriptor* rawConfig = nullptr;
    r = libusb_get_active_config_descriptor(device, &rawConfig);
    if (r != 0)
        return Error(ErrorCode::Io, QStringLiteral("%1: cannot read the configuration of %2: %3")
                                        .arg(port.endpoint, port.description, libusbMessage(r)));
    ConfigPtr config(rawConfig);
    auto iface = findInterface(*config);
    if (!iface)
        return Error(ErrorCode::ProtocolViolation,
                     QStringLiteral("%1: %2 has no Keyline interface (class ff, subclass 4b, "
                                    "protocol 01 with a bulk IN and a bulk OUT endpoint); is it "
                                    "a wearable in factory mode, and are [usb] vendor_id and "
                                    "product_id right?")
                         .arg(port.endpoint, port.description));

    // A kernel driver has no business on a vendor interface, but if one bound, take it over.
    libusb_set_auto_detach_kernel_driver(handle.get(), 1);
    r = libusb_claim_interface(handle.get(), iface->number);
    if (r == LIBUSB_ERROR_BUSY)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("%1: interface %2 is in use by another program; stop it "
                                    "(another keyline station?) and retry")
                         .arg(port.endpoint)
                         .arg(iface->number));
    if (r == LIBUSB_ERROR_ACCESS)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("%1: permission denied claiming interface %2; %3")
                         .arg(port.endpoint)
                         .arg(iface->number)
                         .arg(kPermissionHint));
    if (r == LIBUSB_ERROR_NO_DEVICE)
        return Error(ErrorCode::Disconnected,
                     QStringLiteral("%1: the device was unplugged").arg(port.endpoint));
    if (r != 0)
        return Error(ErrorCode::Io, QStringLiteral("%1: cannot claim interface %2: %3")
                                        .arg(port.endpoint)
                                        .arg(iface->number)
                                        .arg(libusbMessage(r)));
    if (iface->altSetting != 0) {
        r = libusb_set_interface_alt_setting(handle.get(), iface->number, iface->altSetting);
        if (r != 0) {
            libusb_release_interface(handle.get(), iface->number);
            return Error(ErrorCode::Io, QStringLiteral("%1: cannot select alternate setting %2: %3")
                                            .arg(port.endpoint)
                                            .arg(iface->altSetting)
                                            .arg(libusbMessage(r)));
        }
    }

    std::unique_ptr<UsbTransport> t(new UsbTransport(std::move(context), port, handle.release()));
    t->m_interface = iface->number;
    t->m_inEndpoint = iface->in;
    t->m_outEndpoint = iface->out;
    t->m_maxPacket = iface->maxPacket;
    // A whole number of packets, or a device that fills the last packet overflows the buffer.
    qsizetype packets = (protocol::kMaxFrameSize + iface->maxPacket - 1) / iface->maxPacket;
    t->m_inBuffer.resize(static_cast<size_t>(packets * iface->maxPacket));
    return t;
}

Error UsbTransport::disconnected(const QString& what) const {
    return Error(ErrorCode::Disconnected,
                 QStringLiteral("device on %1 disconnected (%2)").arg(m_port.endpoint, what));
}

Error UsbTransport::transferError(int code, const QString& what) const {
    switch (code) {
    case LIBUSB_ERROR_NO_DEVICE:
        return disconnected(QStringLiteral("unplugged or reset"));
    case LIBUSB_ERROR_ACCESS:
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("%1 on %2: permission denied; %3")
                         .arg(what, m_port.endpoint, kPermissionHint));
    case LIBUSB_ERROR_PIPE:
        return Error(ErrorCode::Io, QStringLiteral("%1 on %2: the endpoint stalled; unplug and "
                                                   "re-plug the device")
                                        .arg(what, m_port.endpoint));
    case LIBUSB_ERROR_OVERFLOW:
        return Error(ErrorCode::ProtocolViolation,
                     QStringLiteral("%1 on %2: the device sent more than a whole frame")
                         .arg(what, m_port.endpoint));
    default:
        return Error(
            ErrorCode::Io,
            QStringLiteral("%1 on %2 failed: %3").arg(what, m_port.endpoint, libusbMessage(code)));
    }
}

Result<void> UsbTransport::write(const char* data, qsizetype size, Deadline deadline) {
    if (!m_handle)
        return disconnected(QStringLiteral("link closed"));
    while (size > 0) {
        int length = static_cast<int>(std::min<qsizetype>(size, kWriteChunk));
        int done = 0;
        // libusb does not write to an OUT buffer; its API just is not const.
        int r = libusb_bulk_transfer(m_handle, m_outEndpoint,
                                     reinterpret_cast<unsigned char*>(const_cast<char*>(data)),
                                     length, &done, timeoutFor(deadline));
        data += done;
        size -= done;
        if (r == LIBUSB_ERROR_TIMEOUT || (r == 0 && size > 0 && deadline.expired()))
            return Error(ErrorCode::Timeout,
                         QStringLiteral("device on %1 does not accept data").arg(m_port.endpoint));
        if (r != 0)
            return transferError(r, QStringLiteral("bulk OUT"));
    }
    return success();
}

Result<qsizetype> UsbTransport::read(char* buffer, qsizetype max, Deadline deadline) {
    if (!m_handle)
        return disconnected(QStringLiteral("link closed"));
    while (m_inPos == m_inLen) {
        int got = 0;
        int r =
            libusb_bulk_transfer(m_handle, m_inEndpoint, m_inBuffer.data(),
                                 static_cast<int>(m_inBuffer.size()), &got, timeoutFor(deadline));
        // Bytes that arrived before a timeout or an error are real: hand them out first.
        if (got > 0) {
            m_inPos = 0;
            m_inLen = got;
            break;
        }
        if (r == LIBUSB_ERROR_TIMEOUT || (r == 0 && deadline.expired()))
            return Error(
                ErrorCode::Timeout,
                QStringLiteral("device on %1 did not answer in time").arg(m_port.endpoint));
        if (r != 0)
            return transferError(r, QStringLiteral("bulk IN"));
        // A zero-length packet carries nothing: wait for the next transfer.
    }
    qsizetype n = std::min(max, m_inLen - m_inPos);
    memcpy(buffer, m_inBuffer.data() + m_inPos, static_cast<size_t>(n));
    m_inPos += n;
    return n;
}

void UsbTransport::close() {
    if (!m_handle)
        return;
    // Fails harmlessly when the device is already gone.
    libusb_release_interface(m_handle, m_interface);
    libusb_close(m_handle);
    m_handle = nullptr;
    m_inPos = m_inLen = 0;
}

// ---- provider --------------------------------------------------------------------------------

struct UsbHotplugBridge {
    static int LIBUSB_CALL callback(libusb_context*, libusb_device* device,
                                    libusb_hotplug_event event, void* user) {
        auto* self = static_cast<UsbPortProvider*>(user);
        if (auto port = portFor(device, self->m_ids))
            self->queueEvent({event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED ? PortEventKind::Arrived
                                                                           : PortEventKind::Removed,
                              *port});
        return 0; // stay registered
    }
};

UsbPortProvider::UsbPortProvider(UsbIds ids, std::shared_ptr<UsbContext> context)
    : m_ids(ids)
    , m_context(std::move(context)) {}

UsbPortProvider::~UsbPortProvider() {
    stopWatching();
}

void UsbPortProvider::forcePolling(Millis interval) {
    m_forcePolling = true;
    m_pollInterval = interval;
}

Result<std::shared_ptr<UsbContext>> UsbPortProvider::context() {
    std::lock_guard lock(m_contextMutex);
    if (!m_context) {
        KL_TRY_ASSIGN(m_context, UsbContext::create());
    }
    return m_context;
}

Result<QList<PortInfo>> UsbPortProvider::scan() {
    KL_TRY_ASSIGN(auto ctx, context());
    ssize_t count = 0;
    KL_TRY_ASSIGN(DeviceList list, deviceList(ctx->get(), count));
    QList<PortInfo> ports;
    for (ssize_t i = 0; i < count; ++i)
        if (auto port = portFor(list[i], m_ids))
            ports.append(*port);
    std::sort(ports.begin(), ports.end(),
              [](const PortInfo& a, const PortInfo& b) { return a.endpoint < b.endpoint; });
    return ports;
}

Result<std::unique_ptr<Transport>> UsbPortProvider::open(const PortInfo& port) {
    KL_TRY_ASSIGN(auto ctx, context());
    ssize_t count = 0;
    KL_TRY_ASSIGN(DeviceList list, deviceList(ctx->get(), count));
    // The endpoint names the socket; the device address changes with every plug-in.
    DevicePtr device;
    PortInfo current;
    for (ssize_t i = 0; i < count && !device; ++i) {
        auto p = portFor(list[i], m_ids);
        if (p && p->endpoint == port.endpoint) {
            device.reset(libusb_ref_device(list[i]));
            current = *p;
        }
    }
    list.reset();
    if (!device)
        return Error(ErrorCode::Disconnected,
                     QStringLiteral("%1: no device %2:%3 is plugged into this port")
                         .arg(port.endpoint, hex4(m_ids.vendorId), hex4(m_ids.productId)));
    KL_TRY_ASSIGN(auto transport, UsbTransport::open(ctx, device.get(), current));
    return std::unique_ptr<Transport>(std::move(transport));
}

void UsbPortProvider::queueEvent(PortEvent event) {
    {
        std::lock_guard lock(m_eventMutex);
        m_pending.push_back(std::move(event));
    }
    m_wake.notify_all();
}

Result<void> UsbPortProvider::watch(PortEventHandler handler) {
    if (m_watcher.joinable())
        return Error(ErrorCode::Internal, QStringLiteral("already watching USB ports"));
    KL_TRY_ASSIGN(auto ctx, context());
    m_stop = false;
    m_pending.clear();
    if (m_forcePolling || !libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG)) {
        m_watcher = std::thread([this, handler = std::move(handler)] { pollingLoop(handler); });
        return success();
    }
    // Registered before the first scan, so a device arriving in between is not missed; the
    // watcher drops events that repeat what the scan already reported.
    int r = libusb_hotplug_register_callback(
        ctx->get(),
        static_cast<libusb_hotplug_event>(LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED |
                                          LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT),
        static_cast<libusb_hotplug_flag>(0), m_ids.vendorId, m_ids.productId,
        LIBUSB_HOTPLUG_MATCH_ANY, &UsbHotplugBridge::callback, this, &m_hotplugHandle);
    if (r != 0)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("cannot watch USB hotplug events: %1").arg(libusbMessage(r)));
    m_hotplugRegistered = true;
    m_watcher =
        std::thread([this, ctx, handler = std::move(handler)] { hotplugLoop(ctx, handler); });
    return success();
}

namespace {

// Delivers `event` unless it repeats what `known` already says.
void deliver(QHash<QString, PortInfo>& known, const PortEvent& event,
             const PortEventHandler& handler) {
    bool present = known.contains(event.port.endpoint);
    if (event.kind == PortEventKind::Arrived) {
        if (present)
            return;
        known.insert(event.port.endpoint, event.port);
    } else {
        if (!present)
            return;
        known.remove(event.port.endpoint);
    }
    handler(event);
}

} // namespace

void UsbPortProvider::hotplugLoop(std::shared_ptr<UsbContext> ctx, PortEventHandler handler) {
    QHash<QString, PortInfo> known;
    if (auto ports = scan())
        for (const PortInfo& p : *ports)
            deliver(known, {PortEventKind::Arrived, p}, handler);
    while (!m_stop) {
        timeval tv{0, 100 * 1000};
        libusb_handle_events_timeout_completed(ctx->get(), &tv, nullptr);
        std::vector<PortEvent> events;
        {
            std::lock_guard lock(m_eventMutex);
            events.swap(m_pending);
        }
        for (const PortEvent& e : events) {
            if (m_stop)
                break;
            deliver(known, e, handler);
        }
    }
}

void UsbPortProvider::pollingLoop(PortEventHandler handler) {
    QHash<QString, PortInfo> known;
    while (!m_stop) {
        if (auto ports = scan()) {
            QSet<QString> now;
            for (const PortInfo& p : *ports) {
                now.insert(p.endpoint);
                deliver(known, {PortEventKind::Arrived, p}, handler);
            }
            const auto previous = known;
            for (const PortInfo& p : previous)
                if (!now.contains(p.endpoint))
                    deliver(known, {PortEventKind::Removed, p}, handler);
        }
        std::unique_lock lock(m_eventMutex);
        m_wake.wait_for(lock, m_pollInterval, [this] { return m_stop.load(); });
    }
}

void UsbPortProvider::stopWatching() {
    if (!m_watcher.joinable())
        return;
    m_stop = true;
    if (m_hotplugRegistered) {
        libusb_hotplug_deregister_callback(m_context->get(), m_hotplugHandle);
        m_hotplugRegistered = false;
    }
    // Wakes a watcher blocked in libusb_handle_events at once instead of at its timeout.
    libusb_interrupt_event_handler(m_context->get());
    {
        std::lock_guard lock(m_eventMutex);
        m_wake.notify_all();
    }
    m_watcher.join();
    m_pending.clear();
}

} // namespace keyline::flashing
