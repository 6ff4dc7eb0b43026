#pragma once

// Helpers shared by every transport that runs protocol_suite.inc.
#include "sim/simulator.h"
#include "vendor_keystore.h"

#include <QStringList>
#include <catch2/catch.hpp>

namespace keyline::devicetest {

// Options for one suite test: 2 ports, no delays (Timing::none()), the given faults, and the
// test vendor's keystore signing key installed in the devices (VendorKeystoreKey). The fixture
// puts the state directory in a QTemporaryDir it owns (stateDir stays empty here).
inline keyline::sim::SimOptions suiteOptions(const QStringList& faults = {}) {
    keyline::sim::SimOptions options;
    options.ports = 2;
    options.timing = keyline::sim::Timing::none();
    options.replugDelay = std::chrono::milliseconds(20);
    options.vendorKeystoreKeyPath = VendorKeystoreKey::instance().publicKeyPath();
    for (const QString& text : faults) {
        auto spec = keyline::sim::parseFaultSpec(text);
        REQUIRE(spec.ok());
        options.faults.append(*spec);
    }
    return options;
}

} // namespace keyline::devicetest
