#include "umockdev_wearable.h"

#include <QByteArray>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstring>
#include <deque>
#include <linux/ioctl.h>
#include <linux/usbdevice_fs.h>
#include <optional>
#include <thread>
#include <umockdev.h>
#include <vector>

namespace keyline::usbtest {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::uint8_t kOutEndpoint = 0x01;
constexpr std::uint8_t kInEndpoint = 0x81;
constexpr auto kReplugDelay = std::chrono::milliseconds(50);
// A device that asked to drop the link waits this long for the host to fetch its last answer.
constexpr auto kDrainLimit = std::chrono::milliseconds(1000);

const char* const kRootHubPath = "/sys/devices/pci0000:00/0000:00:14.0/usb1";

QByteArray hex(const std::vector<std::uint8_t>& bytes) {
    return QByteArray(reinterpret_cast<const char*>(bytes.data()),
                      static_cast<qsizetype>(bytes.size()))
        .toHex();
}

void put16(std::vector<std::uint8_t>& v, std::uint16_t x) {
    v.push_back(static_cast<std::uint8_t>(x & 0xff));
    v.push_back(static_cast<std::uint8_t>(x >> 8));
}

// Device descriptor + configuration (one interface, bulk OUT 0x01, bulk IN 0x81), the layout
// Linux exposes in the sysfs "descriptors" attribute.
std::vector<std::uint8_t> wearableDescriptors(const EmulatedDeviceSpec& s) {
    std::vector<std::uint8_t> d = {18, 1, 0x00, 0x02, 0, 0, 0, 64};
    put16(d, s.vendorId);
    put16(d, s.productId);
    d.insert(d.end(), {0x00, 0x01, 1, 2, 3, 1});
    d.insert(d.end(), {9, 2, 32, 0, 1, 1, 0, 0x80, 50});
    d.insert(d.end(),
             {9, 4, 0, 0, 2, s.interfaceClass, s.interfaceSubclass, s.interfaceProtocol, 0});
    d.insert(d.end(), {7, 5, kOutEndpoint, 0x02});
    put16(d, s.maxPacket);
    d.push_back(0);
    d.insert(d.end(), {7, 5, kInEndpoint, 0x02});
    put16(d, s.maxPacket);
    d.push_back(0);
    return d;
}

// A USB 2.0 root hub (1d6b:0002), the parent libusb walks for the port path.
std::vector<std::uint8_t> rootHubDescriptors() {
    return {18, 1, 0x00, 0x02, 9, 0,  1, 64, 0x6b, 0x1d, 0x02, 0x00, 0x06, 0x06, 3,
            2,  1, 1,    9,    2, 25, 0, 1,  1,    0,    0xe0, 0,    9,    4,    0,
            0,  1, 9,    0,    0, 0,  7, 5,  0x81, 3,    4,    0,    12};
}

struct GErrorText {
    GError* error = nullptr;
    ~GErrorText() { g_clear_error(&error); }
    QString text() const {
        return error ? QString::fromUtf8(error->message) : QStringLiteral("unknown error");
    }
};

struct IoctlDataRef {
    UMockdevIoctlData* p = nullptr;
    ~IoctlDataRef() {
        if (p)
            umockdev_ioctl_data_unref(p);
    }
};

} // namespace

// One URB as the emulated device sees it. `address` is the URB in the client (libusb), which
// lives in this process: umockdev resolves it into local copies and writes them back.
struct Urb {
    UMockdevIoctlClient* owner = nullptr; // the open file that submitted it; only it may reap
    gulong address = 0;
    std::uint8_t endpoint = 0;
    int bufferLength = 0;
    int status = 0;
    int actualLength = 0;
    QByteArray data; // bulk IN payload, copied out at reap time
};

struct UmockdevWearable::Device {
    struct Job {
        enum Kind { Open, Feed, Close } kind;
        std::uint64_t generation;
        QByteArray bytes;
    };

    Impl* owner = nullptr;
    int port = 0;
    int devnum = 0;
    EmulatedDeviceSpec spec;
    std::string syspath;
    std::string devnode;
    UMockdevIoctlBase* handler = nullptr;
    gulong signal = 0;

    // Shared with umockdev's ioctl worker thread and the firmware thread.
    std::mutex mutex;
    std::weak_ptr<Device> self;
    bool gone = false;
    bool dropRequested = false;
    bool dropScheduled = false;
    UMockdevIoctlClient* claimedBy = nullptr;
    std::uint64_t generation = 0; // one per session; output of an older session is dropped
    QByteArray inQueue;           // device -> host bytes not yet in a URB
    std::deque<Urb> waiting;      // bulk IN URBs waiting for data
    std::deque<Urb> done;         // URBs ready to reap, in completion order

    // The "firmware": runs the session off umockdev's worker thread so a slow device does not
    // stall every other emulated device.
    std::thread firmware;
    std::mutex joinMutex;
    std::condition_variable wake;
    std::deque<Job> jobs;
    bool stopping = false;

    gboolean handle(UMockdevIoctlClient* client);
    void submit(UMockdevIoctlClient* client, UMockdevIoctlData* arg);
    void reap(UMockdevIoctlClient* client, UMockdevIoctlData* arg);
    void discard(UMockdevIoctlClient* client, UMockdevIoctlData* arg);
    void serveIn();      // with mutex held
    void queue(Job job); // with mutex held
    void firmwareLoop();
    void requestDrop();         // with mutex held
    bool answerPending() const; // with mutex held: device output the host has not reaped
    void stopFirmware();        // finishes queued jobs (closing the session) and joins
};

struct UmockdevWearable::Impl {
    SessionFactory factory;
    PresenceProbe occupied;
    UMockdevTestbed* testbed = nullptr;
    std::mutex testbedMutex; // the testbed object is not thread-safe

    mutable std::mutex mutex;
    std::map<int, std::shared_ptr<Device>> plugged;
    std::vector<std::shared_ptr<Device>> all; // kept until the end: open files may still ask
    std::map<int, EmulatedDeviceSpec> specs;
    std::map<int, int> sessions;
    std::map<int, int> removals;
    int nextDevnum = 2;
    bool replug = true;
    std::atomic<int> discarded{0};

    // Deferred work (drop after drain, re-plug) runs here, never on umockdev's worker thread.
    std::thread scheduler;
    std::condition_variable schedulerWake;
    std::multimap<SteadyClock::time_point, std::function<void()>> tasks;
    bool schedulerStop = false;
    bool paused = false;    // after unplugAll(): no automatic re-plugging until plug()
    std::mutex taskRunning; // held while a task runs

    void schedule(SteadyClock::duration delay, std::function<void()> task) {
        {
            std::lock_guard lock(mutex);
            tasks.emplace(SteadyClock::now() + delay, std::move(task));
        }
        schedulerWake.notify_all();
    }

    void schedulerLoop() {
        std::unique_lock lock(mutex);
        while (!schedulerStop) {
            if (tasks.empty()) {
                schedulerWake.wait(lock);
                continue;
            }
            auto next = tasks.begin();
            if (next->first > SteadyClock::now()) {
                // A copy: the task may be cleared (and its key freed) while this thread waits.
                const auto due = next->first;
                schedulerWake.wait_until(lock, due);
                continue;
            }
            auto task = std::move(next->second);
            tasks.erase(next);
            lock.unlock();
            {
                std::lock_guard running(taskRunning);
                task();
            }
            lock.lock();
        }
    }

    void addRootHub() {
        QByteArray record = QByteArray("P: ") + QByteArray(kRootHubPath).mid(4) +
                            "\n"
                            "N: bus/usb/001/001\n"
                            "E: SUBSYSTEM=usb\n"
                            "E: DEVTYPE=usb_device\n"
                            "E: DRIVER=usb\n"
                            "E: BUSNUM=001\n"
                            "E: DEVNUM=001\n"
                            "E: DEVNAME=/dev/bus/usb/001/001\n"
                            "A: busnum=1\\n\n"
                            "A: devnum=1\\n\n"
                            "A: bConfigurationValue=1\\n\n"
                            "A: speed=480\\n\n"
                            "H: descriptors=" +
                            hex(rootHubDescriptors()) + "\n";
        GErrorText err;
        if (!umockdev_testbed_add_from_string(testbed, record.constData(), &err.error))
            qFatal("umockdev: cannot add the root hub: %s", qPrintable(err.text()));
    }

    std::shared_ptr<Device> plug(int port, const EmulatedDeviceSpec& spec);
    void remove(const std::shared_ptr<Device>& device, bool droppedByDevice);
    void replugWhenOccupied(int port, EmulatedDeviceSpec spec, SteadyClock::duration delay);
};

// ---- ioctl handling (umockdev's worker thread) -------------------------------------------------

namespace {

gboolean onIoctl(UMockdevIoctlBase*, UMockdevIoctlClient* client, gpointer device) {
    return static_cast<UmockdevWearable::Device*>(device)->handle(client);
}

} // namespace

gboolean UmockdevWearable::Device::handle(UMockdevIoctlClient* client) {
    const gulong request = umockdev_ioctl_client_get_request(client);
    UMockdevIoctlData* arg = umockdev_ioctl_client_get_arg(client);
    auto answer = [&](int errnoValue) {
        umockdev_ioctl_client_complete(client, errnoValue ? -1 : 0, errnoValue);
    };
    auto goneOr = [&](int errnoValue) {
        std::lock_guard lock(mutex);
        return gone ? ENODEV : errnoValue;
    };

    switch (request) {
    case USBDEVFS_GET_CAPABILITIES: {
        IoctlDataRef caps{umockdev_ioctl_data_resolve(arg, 0, sizeof(guint32), nullptr)};
        if (!caps.p) {
            answer(EFAULT);
            return TRUE;
        }
        // One URB per transfer of any length, and reaping after a disconnect: what a current
        // kernel offers, and what keeps this emulation simple.
        *reinterpret_cast<guint32*>(caps.p->data) =
            USBDEVFS_CAP_BULK_SCATTER_GATHER | USBDEVFS_CAP_BULK_CONTINUATION |
            USBDEVFS_CAP_NO_PACKET_SIZE_LIM | USBDEVFS_CAP_REAP_AFTER_DISCONNECT |
            USBDEVFS_CAP_ZERO_PACKET;
        answer(0);
        return TRUE;
    }
    case USBDEVFS_CLAIMINTERFACE:
    case USBDEVFS_DISCONNECT_CLAIM: {
        std::unique_lock lock(mutex);
        int result = 0;
        if (gone)
            result = ENODEV;
        else if (dropRequested)
            result = ENODEV; // resetting: it is about to leave the bus
        else if (claimedBy && claimedBy != client)
            result = EBUSY;
        else if (!claimedBy) {
            // A new claim is a new connection: a fresh session, nothing stale on bulk IN.
            claimedBy = client;
            ++generation;
            inQueue.clear();
            queue({Job::Open, generation, {}});
        }
        lock.unlock();
        answer(result);
        return TRUE;
    }
    case USBDEVFS_RELEASEINTERFACE: {
        std::unique_lock lock(mutex);
        int result = gone ? ENODEV : 0;
        if (claimedBy == client) {
            claimedBy = nullptr;
            ++generation;
            inQueue.clear();
            queue({Job::Close, generation, {}});
        }
        lock.unlock();
        answer(result);
        return TRUE;
    }
    case USBDEVFS_SETINTERFACE:
    case USBDEVFS_SETCONFIGURATION:
    case USBDEVFS_CLEAR_HALT:
    case USBDEVFS_RESETEP:
    case USBDEVFS_RESET:
        answer(goneOr(0));
        return TRUE;
    case USBDEVFS_GETDRIVER:
    case USBDEVFS_IOCTL:
        // No kernel driver is bound to the vendor interface.
        answer(goneOr(ENODATA));
        return TRUE;
    case USBDEVFS_SUBMITURB:
        submit(client, arg);
        return TRUE;
    case USBDEVFS_REAPURB:
    case USBDEVFS_REAPURBNDELAY:
        reap(client, arg);
        return TRUE;
    case USBDEVFS_DISCARDURB:
        discard(client, arg);
        return TRUE;
    default:
        return FALSE; // umockdev answers ENOTTY
    }
}

void UmockdevWearable::Device::submit(UMockdevIoctlClient* client, UMockdevIoctlData* arg) {
    IoctlDataRef urbData{umockdev_ioctl_data_resolve(arg, 0, sizeof(usbdevfs_urb), nullptr)};
    if (!urbData.p) {
        umockdev_ioctl_client_complete(client, -1, EFAULT);
        return;
    }
    const auto* raw = reinterpret_cast<const usbdevfs_urb*>(urbData.p->data);
    Urb urb;
    urb.owner = client;
    urb.address = urbData.p->client_addr;
    urb.endpoint = raw->endpoint;
    urb.bufferLength = raw->buffer_length;
    const int type = raw->type;

    QByteArray outBytes;
    if (type == USBDEVFS_URB_TYPE_BULK && urb.endpoint == kOutEndpoint && urb.bufferLength > 0) {
        IoctlDataRef buffer{umockdev_ioctl_data_resolve(urbData.p, offsetof(usbdevfs_urb, buffer),
                                                        static_cast<gsize>(urb.bufferLength),
                                                        nullptr)};
        if (!buffer.p) {
            umockdev_ioctl_client_complete(client, -1, EFAULT);
            return;
        }
        outBytes = QByteArray(reinterpret_cast<const char*>(buffer.p->data), urb.bufferLength);
    }

    int result = 0;
    {
        std::lock_guard lock(mutex);
        if (gone) {
            result = ENODEV;
        } else if (type == USBDEVFS_URB_TYPE_CONTROL) {
            urb.status = -EPIPE; // no control requests beyond the standard ones: stall
            done.push_back(std::move(urb));
        } else if (type != USBDEVFS_URB_TYPE_BULK) {
            result = EINVAL;
        } else if (urb.endpoint == kOutEndpoint) {
            // The device takes every byte at once; processing happens on the firmware thread.
            urb.actualLength = urb.bufferLength;
            done.push_back(std::move(urb));
            if (claimedBy == client && !dropRequested && !outBytes.isEmpty())
                queue({Job::Feed, generation, std::move(outBytes)});
        } else if (urb.endpoint == kInEndpoint) {
            waiting.push_back(std::move(urb));
            serveIn();
        } else {
            result = ENOENT;
        }
    }
    umockdev_ioctl_client_complete(client, result ? -1 : 0, result);
}

void UmockdevWearable::Device::reap(UMockdevIoctlClient* client, UMockdevIoctlData* arg) {
    std::optional<Urb> urb;
    int result = EAGAIN;
    {
        std::lock_guard lock(mutex);
        for (auto it = done.begin(); it != done.end(); ++it) {
            if (it->owner == client) {
                urb = std::move(*it);
                done.erase(it);
                break;
            }
        }
        if (!urb && gone)
            result = ENODEV; // like the kernel once every URB of a removed device is reaped
        if (urb && dropRequested && !answerPending())
            requestDrop();
    }
    if (!urb) {
        umockdev_ioctl_client_complete(client, -1, result);
        return;
    }
    // The argument points at libusb's `struct usbdevfs_urb*`: store the URB's address there,
    // resolve it to fill in the result, and umockdev writes all of it back on completion.
    IoctlDataRef slot{umockdev_ioctl_data_resolve(arg, 0, sizeof(gpointer), nullptr)};
    if (!slot.p) {
        umockdev_ioctl_client_complete(client, -1, EFAULT);
        return;
    }
    memcpy(slot.p->data, &urb->address, sizeof(gpointer));
    IoctlDataRef urbData{umockdev_ioctl_data_resolve(slot.p, 0, sizeof(usbdevfs_urb), nullptr)};
    if (!urbData.p) {
        umockdev_ioctl_client_complete(client, -1, EFAULT);
        return;
    }
    auto* raw = reinterpret_cast<usbdevfs_urb*>(urbData.p->data);
    raw->status = urb->status;
    raw->actual_length = urb->actualLength;
    if (!urb->data.isEmpty()) {
        IoctlDataRef buffer{umockdev_ioctl_data_resolve(urbData.p, offsetof(usbdevfs_urb, buffer),
                                                        static_cast<gsize>(urb->data.size()),
                                                        nullptr)};
        if (!buffer.p) {
            umockdev_ioctl_client_complete(client, -1, EFAULT);
            return;
        }
        memcpy(buffer.p->data, urb->data.constData(), static_cast<size_t>(urb->data.size()));
    }
    umockdev_ioctl_client_complete(client, 0, 0);
}

void UmockdevWearable::Device::discard(UMockdevIoctlClient* client, UMockdevIoctlData* arg) {
    // The argument is the URB pointer itself, not a pointer to it.
    gulong address = 0;
    memcpy(&address, arg->data, sizeof(address));
    int result = EINVAL; // not in flight: the kernel says so and libusb reaps it normally
    {
        std::lock_guard lock(mutex);
        for (auto it = waiting.begin(); it != waiting.end(); ++it) {
            if (it->owner == client && it->address == address) {
                // Must still be reaped, with -ENOENT, or libusb waits forever for the cancel.
                it->status = -ENOENT;
                it->actualLength = 0;
                done.push_back(std::move(*it));
                waiting.erase(it);
                result = 0;
                break;
            }
        }
    }
    if (result == 0)
        ++owner->discarded;
    umockdev_ioctl_client_complete(client, result ? -1 : 0, result);
}

void UmockdevWearable::Device::serveIn() {
    // Each waiting URB takes as much as it holds; a partly filled one is a short transfer,
    // which ends the transfer on the host as a short packet would.
    while (!waiting.empty() && !inQueue.isEmpty()) {
        Urb urb = std::move(waiting.front());
        waiting.pop_front();
        qsizetype n = std::min<qsizetype>(urb.bufferLength, inQueue.size());
        urb.data = inQueue.left(n);
        inQueue.remove(0, n);
        urb.actualLength = static_cast<int>(n);
        urb.status = 0;
        done.push_back(std::move(urb));
    }
}

bool UmockdevWearable::Device::answerPending() const {
    if (!inQueue.isEmpty())
        return true;
    for (const Urb& urb : done)
        if (!urb.data.isEmpty())
            return true;
    return false;
}

void UmockdevWearable::Device::stopFirmware() {
    {
        std::lock_guard lock(mutex);
        stopping = true;
    }
    wake.notify_all();
    std::lock_guard lock(joinMutex);
    if (firmware.joinable())
        firmware.join();
}

void UmockdevWearable::Device::queue(Job job) {
    jobs.push_back(std::move(job));
    wake.notify_all();
}

void UmockdevWearable::Device::requestDrop() {
    if (gone || dropScheduled)
        return;
    dropScheduled = true;
    Impl* impl = owner;
    impl->schedule(std::chrono::milliseconds(0), [impl, weak = self] {
        if (auto d = weak.lock())
            impl->remove(d, true);
    });
}

void UmockdevWearable::Device::firmwareLoop() {
    std::unique_ptr<sim::PortSession> session;
    std::uint64_t sessionGeneration = 0;
    std::unique_lock lock(mutex);
    for (;;) {
        wake.wait(lock, [this] { return stopping || !jobs.empty(); });
        if (jobs.empty())
            break; // stopping, and nothing left to do
        Job job = std::move(jobs.front());
        jobs.pop_front();
        lock.unlock();
        sim::PortSession::Output output;
        bool fed = false;
        switch (job.kind) {
        case Job::Open:
            session = owner->factory ? owner->factory(port) : nullptr;
            sessionGeneration = job.generation;
            {
                std::lock_guard implLock(owner->mutex);
                ++owner->sessions[port];
            }
            break;
        case Job::Close:
            session.reset();
            // Closing may have emptied the port (a locked device swapped for a fresh one).
            if (owner->occupied && !owner->occupied(port)) {
                Impl* impl = owner;
                impl->schedule(std::chrono::milliseconds(0), [impl, weak = self] {
                    if (auto d = weak.lock())
                        impl->remove(d, true);
                });
            }
            break;
        case Job::Feed:
            if (session && job.generation == sessionGeneration) {
                output = session->feed(job.bytes.constData(), job.bytes.size());
                fed = true;
            }
            break;
        }
        lock.lock();
        if (!fed || job.generation != generation || gone)
            continue;
        inQueue.append(output.bytes);
        serveIn();
        if (output.disconnect && !dropRequested) {
            dropRequested = true;
            jobs.clear(); // the device stops listening; later bytes are lost, as on a reset
            if (!answerPending())
                requestDrop();
            // Otherwise reap() drops the link once the last answer is fetched; the limit covers
            // a host that never reads it.
            Impl* impl = owner;
            impl->schedule(kDrainLimit, [impl, weak = self] {
                if (auto d = weak.lock())
                    impl->remove(d, true);
            });
        }
    }
    lock.unlock();
    session.reset();
}

// ---- plugging (test thread or scheduler) -------------------------------------------------------

std::shared_ptr<UmockdevWearable::Device>
UmockdevWearable::Impl::plug(int port, const EmulatedDeviceSpec& spec) {
    auto device = std::make_shared<Device>();
    device->owner = this;
    device->self = device;
    device->port = port;
    device->spec = spec;
    {
        std::lock_guard lock(mutex);
        if (plugged.count(port))
            qFatal("UmockdevWearable: port %d already has a device", port);
        // The kernel gives every enumeration a new address, as here.
        device->devnum = nextDevnum++;
        plugged[port] = device;
        all.push_back(device);
        specs[port] = spec;
    }
    const QByteArray devnum = QByteArray::number(device->devnum).rightJustified(3, '0');
    device->syspath = std::string(kRootHubPath) + "/1-" + std::to_string(port);
    device->devnode = "/dev/bus/usb/001/" + devnum.toStdString();

    device->handler = umockdev_ioctl_base_new();
    device->signal =
        g_signal_connect(device->handler, "handle-ioctl", G_CALLBACK(onIoctl), device.get());
    device->firmware = std::thread([d = device.get()] { d->firmwareLoop(); });

    const QByteArray idVendor = QByteArray::number(spec.vendorId, 16).rightJustified(4, '0');
    const QByteArray idProduct = QByteArray::number(spec.productId, 16).rightJustified(4, '0');
    QByteArray record =
        "P: " + QByteArray::fromStdString(device->syspath).mid(4) +
        "\n"
        "N: bus/usb/001/" +
        devnum +
        "\n"
        "E: SUBSYSTEM=usb\n"
        "E: DEVTYPE=usb_device\n"
        "E: DRIVER=usb\n"
        "E: PRODUCT=" +
        QByteArray::number(spec.vendorId, 16) + "/" + QByteArray::number(spec.productId, 16) +
        "/100\n"
        "E: BUSNUM=001\n"
        "E: DEVNUM=" +
        devnum + "\nE: DEVNAME=" + QByteArray::fromStdString(device->devnode) +
        "\n"
        "A: busnum=1\\n\n"
        "A: devnum=" +
        QByteArray::number(device->devnum) + "\\n\nA: devpath=" + QByteArray::number(port) +
        "\\n\nA: idVendor=" + idVendor + "\\n\nA: idProduct=" + idProduct +
        "\\n\n"
        "A: bConfigurationValue=1\\n\n"
        "A: bNumConfigurations=1\\n\n"
        "A: bMaxPacketSize0=64\\n\n"
        "A: speed=480\\n\n"
        "A: manufacturer=Keyline\\n\n"
        "A: product=Keyline wearable (umockdev)\\n\n"
        "H: descriptors=" +
        hex(wearableDescriptors(spec)) + "\n";

    std::lock_guard lock(testbedMutex);
    // The handler must be in place before the device appears, or libusb may open it first.
    GErrorText err;
    if (!umockdev_testbed_attach_ioctl(testbed, device->devnode.c_str(), device->handler,
                                       &err.error))
        qFatal("umockdev: cannot attach the ioctl handler to %s: %s", device->devnode.c_str(),
               qPrintable(err.text()));
    GErrorText addErr;
    if (!umockdev_testbed_add_from_string(testbed, record.constData(), &addErr.error))
        qFatal("umockdev: cannot add %s: %s", device->syspath.c_str(), qPrintable(addErr.text()));
    // Announce it to libudev monitors (libusb's hotplug), once every attribute is written.
    umockdev_testbed_uevent(testbed, device->syspath.c_str(), "add");
    return device;
}

void UmockdevWearable::Impl::remove(const std::shared_ptr<Device>& device, bool droppedByDevice) {
    {
        std::lock_guard lock(device->mutex);
        if (device->gone)
            return;
        device->gone = true;
        // URBs in flight end as the kernel ends them on a disconnect.
        for (Urb& urb : device->waiting) {
            urb.status = -ESHUTDOWN;
            urb.actualLength = 0;
            device->done.push_back(std::move(urb));
        }
        device->waiting.clear();
        device->inQueue.clear();
        device->claimedBy = nullptr;
        ++device->generation;
        device->queue({Device::Job::Close, device->generation, {}});
    }
    // The session ends before remove() returns, so the caller may then drop what it uses.
    device->stopFirmware();
    EmulatedDeviceSpec spec;
    {
        std::lock_guard lock(mutex);
        auto it = plugged.find(device->port);
        if (it != plugged.end() && it->second == device)
            plugged.erase(it);
        ++removals[device->port];
        spec = specs[device->port];
    }
    {
        std::lock_guard lock(testbedMutex);
        // umockdev 0.17 does not announce removals itself.
        umockdev_testbed_uevent(testbed, device->syspath.c_str(), "remove");
        umockdev_testbed_remove_device(testbed, device->syspath.c_str());
    }
    bool again = false;
    {
        std::lock_guard lock(mutex);
        again = droppedByDevice && replug && !schedulerStop;
    }
    if (again)
        replugWhenOccupied(device->port, spec, kReplugDelay);
}

void UmockdevWearable::Impl::replugWhenOccupied(int port, EmulatedDeviceSpec spec,
                                                SteadyClock::duration delay) {
    schedule(delay, [this, port, spec] {
        {
            std::lock_guard lock(mutex);
            if (plugged.count(port) || schedulerStop || paused)
                return;
        }
        if (occupied && !occupied(port))
            replugWhenOccupied(port, spec, std::chrono::milliseconds(10));
        else
            plug(port, spec);
    });
}

// ---- public face -------------------------------------------------------------------------------

UmockdevWearable::UmockdevWearable(SessionFactory factory, PresenceProbe occupied)
    : m_impl(std::make_unique<Impl>()) {
    m_impl->factory = std::move(factory);
    m_impl->occupied = std::move(occupied);
    m_impl->testbed = umockdev_testbed_new();
    m_impl->addRootHub();
    m_impl->scheduler = std::thread([impl = m_impl.get()] { impl->schedulerLoop(); });
}

UmockdevWearable::~UmockdevWearable() {
    {
        std::lock_guard lock(m_impl->mutex);
        m_impl->schedulerStop = true;
        m_impl->tasks.clear();
    }
    m_impl->schedulerWake.notify_all();
    m_impl->scheduler.join();
    std::vector<std::shared_ptr<Device>> devices;
    {
        std::lock_guard lock(m_impl->mutex);
        devices = m_impl->all;
    }
    for (const auto& d : devices) {
        d->stopFirmware();
        // From here an ioctl on a still-open file would get ENOTTY instead of a freed Device.
        g_signal_handler_disconnect(d->handler, d->signal);
    }
    g_object_unref(m_impl->testbed);
    for (const auto& d : devices)
        g_object_unref(d->handler);
}

bool UmockdevWearable::mockEnvironment() {
    return umockdev_in_mock_environment();
}

void UmockdevWearable::plug(int port, EmulatedDeviceSpec spec) {
    {
        std::lock_guard lock(m_impl->mutex);
        m_impl->paused = false;
    }
    m_impl->plug(port, spec);
}

void UmockdevWearable::unplugAll() {
    {
        std::lock_guard lock(m_impl->mutex);
        m_impl->paused = true;
        m_impl->tasks.clear();
    }
    // A task under way (a re-plug) finishes first; later ones see `paused`.
    std::lock_guard running(m_impl->taskRunning);
    std::vector<std::shared_ptr<Device>> devices;
    {
        std::lock_guard lock(m_impl->mutex);
        for (const auto& [port, device] : m_impl->plugged)
            devices.push_back(device);
    }
    for (const auto& d : devices)
        m_impl->remove(d, false);
}

void UmockdevWearable::unplug(int port) {
    std::shared_ptr<Device> device;
    {
        std::lock_guard lock(m_impl->mutex);
        auto it = m_impl->plugged.find(port);
        if (it == m_impl->plugged.end())
            return;
        device = it->second;
    }
    m_impl->remove(device, false);
}

bool UmockdevWearable::plugged(int port) const {
    std::lock_guard lock(m_impl->mutex);
    return m_impl->plugged.count(port) > 0;
}

QString UmockdevWearable::endpoint(int port) {
    return QStringLiteral("usb:1-%1").arg(port);
}

void UmockdevWearable::setReplugAfterDisconnect(bool on) {
    std::lock_guard lock(m_impl->mutex);
    m_impl->replug = on;
}

int UmockdevWearable::discardedUrbs() const {
    return m_impl->discarded;
}

int UmockdevWearable::sessionsOpened(int port) const {
    std::lock_guard lock(m_impl->mutex);
    auto it = m_impl->sessions.find(port);
    return it == m_impl->sessions.end() ? 0 : it->second;
}

int UmockdevWearable::removals(int port) const {
    std::lock_guard lock(m_impl->mutex);
    auto it = m_impl->removals.find(port);
    return it == m_impl->removals.end() ? 0 : it->second;
}

} // namespace keyline::usbtest
