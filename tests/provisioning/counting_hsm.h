#pragma once

// An Hsm that forwards to the real one and records what the engine asked of it, so a test can
// prove that a refused device caused no key material to be produced.
#include "hsm/forwarding_hsm.h"

namespace keyline::test {

class CountingHsm final : public ForwardingHsm {
public:
    using ForwardingHsm::ForwardingHsm;

    int wraps = 0;
    QList<QByteArray> wrappedKeys; // every wrapped key handed out, for the no-secret checks

    Result<hsm::ImageKeyBurn> wrapImageKeyForDevice(const hsm::KeyUri& imageKey,
                                                    const QByteArray& devicePublicKey) override {
        ++wraps;
        auto burn = m_inner.wrapImageKeyForDevice(imageKey, devicePublicKey);
        if (burn)
            wrappedKeys.append(burn->wrappedKey);
        return burn;
    }
};

} // namespace keyline::test
