// The station's metric set fed with job events as the engine emits them, and the HSM decorator
// timing the engine's HSM calls, checked through the exposition a dashboard reads.
#include "metrics/line_metrics.h"

#include <QThread>
#include <catch2/catch.hpp>
#include <thread>

using namespace keyline;
using namespace keyline::metrics;
using provisioning::JobEvent;
using provisioning::JobEventKind;
using provisioning::Step;

namespace {

JobEvent event(JobEventKind kind, const QString& port, std::optional<Step> step = {},
               bool ok = true) {
    JobEvent e;
    e.kind = kind;
    e.port = port;
    e.step = step;
    e.ok = ok;
    e.deviceId = QStringLiteral("dev-0042");
    e.detail = QStringLiteral("free text with a device id dev-0042");
    return e;
}

// A device that passes every step, as DeviceJob reports it.
void passDevice(LineMetrics& m, const QString& port) {
    m.onEvent(event(JobEventKind::Started, port));
    for (Step step : provisioning::kAllSteps) {
        m.onEvent(event(JobEventKind::StepStarted, port, step));
        m.onEvent(event(JobEventKind::StepDone, port, step));
    }
    m.onEvent(event(JobEventKind::Finished, port));
}

const char* kRun = "station=\"st-1\",order=\"PO-9\"";

bool has(const QByteArray& text, const std::string& line) {
    return text.contains(QByteArray::fromStdString(line + "\n"));
}

class FakeSigner final : public Signer {
public:
    Result<QByteArray> signDigest(const QByteArray&) const override {
        return QByteArrayLiteral("sig");
    }
    QByteArray publicKeyDer() const override { return QByteArrayLiteral("spki"); }
};

class FakeHsm final : public hsm::Hsm {
public:
    Result<std::vector<hsm::KeyInfo>> listKeys() override { return std::vector<hsm::KeyInfo>{}; }
    Result<std::shared_ptr<Signer>> signer(const hsm::KeyUri&) override {
        return std::shared_ptr<Signer>(std::make_shared<FakeSigner>());
    }
    Result<QByteArray> certificate(const hsm::KeyUri&) override { return QByteArray(); }
    Result<QByteArray> publicKey(const hsm::KeyUri&) override { return QByteArray(); }
    Result<QByteArray> keyCheckValue(const hsm::KeyUri&) override {
        return Error(ErrorCode::EnvironmentNotReady, QStringLiteral("token removed"));
    }
    Result<hsm::ImageKeyBurn> wrapImageKeyForDevice(const hsm::KeyUri&,
                                                    const QByteArray&) override {
        QThread::msleep(3); // a measurable wrap
        return hsm::ImageKeyBurn{};
    }
};

} // namespace

TEST_CASE("passed devices and step durations are counted per step", "[metrics][line]") {
    Registry registry;
    LineMetrics m(registry, QStringLiteral("st-1"), QStringLiteral("PO-9"));
    passDevice(m, QStringLiteral("sim:port-01"));
    passDevice(m, QStringLiteral("sim:port-02"));
    JobEvent again = event(JobEventKind::Finished, QStringLiteral("sim:port-03"));
    again.alreadyProvisioned = true;
    m.onEvent(again);
    const QByteArray text = registry.expose();
    INFO(text.toStdString());
    CHECK(has(text, std::string("keyline_units_passed_total{") + kRun + "} 2"));
    CHECK(has(text, std::string("keyline_units_already_provisioned_total{") + kRun + "} 1"));
    for (Step step : provisioning::kAllSteps)
        CHECK(has(text, std::string("keyline_step_duration_seconds_count{") + kRun + ",step=\"" +
                            provisioning::stepName(step).toStdString() + "\",outcome=\"ok\"} 2"));
    CHECK(has(text, "# TYPE keyline_step_duration_seconds histogram"));
    CHECK(text.contains("keyline_build_info{version=\"" KEYLINE_VERSION "\""));
}

TEST_CASE("a failure is counted by step and error kind without its text", "[metrics][line]") {
    Registry registry;
    LineMetrics m(registry, QStringLiteral("st-1"), QStringLiteral("PO-9"));
    const QString port = QStringLiteral("sim:port-05");
    m.onEvent(event(JobEventKind::StepStarted, port, Step::ChipCheck));
    JobEvent failed = event(JobEventKind::Finished, port, Step::ChipCheck, false);
    failed.errorCode = ErrorCode::VerificationFailed;
    m.onEvent(failed);
    // A failure before its step started (identify after the chip check) has no duration.
    JobEvent early =
        event(JobEventKind::Finished, QStringLiteral("sim:port-06"), Step::OtpKey, false);
    early.errorCode = ErrorCode::Timeout;
    m.onEvent(early);
    const QByteArray text = registry.expose();
    INFO(text.toStdString());
    CHECK(has(text, std::string("keyline_units_failed_total{") + kRun +
                        ",step=\"chip-check\",error=\"verification-failed\"} 1"));
    CHECK(has(text, std::string("keyline_units_failed_total{") + kRun +
                        ",step=\"otp-key\",error=\"timeout\"} 1"));
    CHECK(has(text, std::string("keyline_step_duration_seconds_count{") + kRun +
                        ",step=\"chip-check\",outcome=\"failed\"} 1"));
    CHECK_FALSE(text.contains("step=\"otp-key\",outcome=\"failed\""));
    CHECK(has(text, std::string("keyline_units_passed_total{") + kRun + "} 0"));
    CHECK_FALSE(text.contains("dev-0042"));
    CHECK_FALSE(text.contains("free text"));
}

TEST_CASE("the outbox depth is a gauge of the station", "[metrics][line]") {
    Registry registry;
    LineMetrics m(registry, QStringLiteral("st-1"), QStringLiteral("PO-9"));
    m.setOutboxPending(12);
    CHECK(has(registry.expose(), "keyline_outbox_pending{station=\"st-1\"} 12"));
}

TEST_CASE("the HSM decorator times signing wrapping and key check values", "[metrics][line]") {
    Registry registry;
    LineMetrics m(registry, QStringLiteral("st-1"), QStringLiteral("PO-9"));
    FakeHsm real;
    MeteredHsm hsm(real, m.hsmLatency());
    auto signer = hsm.signer(hsm::KeyUri{});
    REQUIRE(signer.ok());
    CHECK((*signer)->signDigest(QByteArray(32, 'x')).value() == "sig");
    CHECK((*signer)->publicKeyDer() == "spki");
    CHECK(hsm.wrapImageKeyForDevice(hsm::KeyUri{}, QByteArray()).ok());
    CHECK_FALSE(hsm.keyCheckValue(hsm::KeyUri{}).ok());
    CHECK(hsm.listKeys().ok());
    const QByteArray text = registry.expose();
    INFO(text.toStdString());
    const std::string s = "{station=\"st-1\",operation=";
    CHECK(has(text, "keyline_hsm_operation_duration_seconds_count" + s + "\"sign\"} 1"));
    CHECK(has(text, "keyline_hsm_operation_duration_seconds_count" + s + "\"wrap_image_key\"} 1"));
    CHECK(has(text, "keyline_hsm_operation_duration_seconds_bucket{station=\"st-1\",operation="
                    "\"wrap_image_key\",le=\"0.001\"} 0"));
    CHECK(has(text, "keyline_hsm_operation_errors_total" + s + "\"key_check_value\"} 1"));
    CHECK(has(text, "keyline_hsm_operation_errors_total" + s + "\"sign\"} 0"));
}

TEST_CASE("slot threads feed the line metrics at once", "[metrics][line][concurrency]") {
    Registry registry;
    LineMetrics m(registry, QStringLiteral("st-1"), QStringLiteral("PO-9"));
    std::vector<std::thread> slots;
    for (int s = 0; s < 8; ++s)
        slots.emplace_back([&m, s] {
            for (int i = 0; i < 200; ++i)
                passDevice(m, QStringLiteral("sim:port-%1").arg(s));
        });
    for (auto& t : slots)
        t.join();
    const QByteArray text = registry.expose();
    CHECK(has(text, std::string("keyline_units_passed_total{") + kRun + "} 1600"));
    CHECK(has(text, std::string("keyline_step_duration_seconds_count{") + kRun +
                        ",step=\"flash\",outcome=\"ok\"} 1600"));
}
