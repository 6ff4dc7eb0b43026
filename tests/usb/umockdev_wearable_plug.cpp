// ---- plugging (test thread or scheduler) -------------------------------------------------------
//
// Devices appearing on and leaving the emulated bus, and the scheduler that runs deferred work
// (drop after drain, re-plug).

#include "umockdev_wearable_internal.h"

#include <cerrno>

namespace keyline::usbtest {

using namespace detail;

namespace {

struct GErrorText {
    GError* error = nullptr;
    ~GErrorText() { g_clear_error(&error); }
    QString text() const {
        return error ? QString::fromUtf8(error->message) : QStringLiteral("unknown error");
    }
};

} // namespace

void UmockdevWearable::Impl::schedule(SteadyClock::duration delay, std::function<void()> task) {
    {
        std::lock_guard lock(mutex);
        tasks.emplace(SteadyClock::now() + delay, std::move(task));
    }
    schedulerWake.notify_all();
}

void UmockdevWearable::Impl::schedulerLoop() {
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

void UmockdevWearable::Impl::addRootHub() {
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

} // namespace keyline::usbtest
