// ---- public face -------------------------------------------------------------------------------
//
// The machinery behind it is in the umockdev_wearable_*.cpp files, which share
// umockdev_wearable_internal.h.

#include "umockdev_wearable.h"

#include "umockdev_wearable_internal.h"

#include <umockdev.h>

namespace keyline::usbtest {

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
