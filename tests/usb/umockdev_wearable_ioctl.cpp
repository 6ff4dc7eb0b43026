// ---- ioctl handling (umockdev's worker thread) -------------------------------------------------
//
// libusb's usbdevfs requests on an emulated device node, answered here. Bulk OUT bytes go to the
// firmware thread (umockdev_wearable_firmware.cpp); its answers come back on bulk IN URBs.

#include "umockdev_wearable_internal.h"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <linux/ioctl.h>
#include <linux/usbdevice_fs.h>
#include <optional>

namespace keyline::usbtest {

using namespace detail;

namespace {

struct IoctlDataRef {
    UMockdevIoctlData* p = nullptr;
    ~IoctlDataRef() {
        if (p)
            umockdev_ioctl_data_unref(p);
    }
};

} // namespace

gboolean detail::onIoctl(UMockdevIoctlBase*, UMockdevIoctlClient* client, gpointer device) {
    return static_cast<UmockdevWearable::Device*>(device)->handle(client);
}

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

} // namespace keyline::usbtest
