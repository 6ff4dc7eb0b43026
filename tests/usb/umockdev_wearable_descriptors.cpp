// The USB descriptors of the emulated devices, as Linux exposes them in sysfs.

#include "umockdev_wearable_internal.h"

namespace keyline::usbtest::detail {
namespace {

void put16(std::vector<std::uint8_t>& v, std::uint16_t x) {
    v.push_back(static_cast<std::uint8_t>(x & 0xff));
    v.push_back(static_cast<std::uint8_t>(x >> 8));
}

} // namespace

QByteArray hex(const std::vector<std::uint8_t>& bytes) {
    return QByteArray(reinterpret_cast<const char*>(bytes.data()),
                      static_cast<qsizetype>(bytes.size()))
        .toHex();
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

} // namespace keyline::usbtest::detail
