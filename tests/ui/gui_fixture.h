#pragma once

// The station window on a whole development line (tests/station/line_fixture.h): a real
// database, SoftHSM2 token and the virtual wearable, driven through the widgets as a worker
// would, with waits that keep the event loop turning (the window never blocks, so the test
// must not either).

#include "line_fixture.h"
#include "run_process.h"
#include "station/config.h"
#include "ui/login_view.h"
#include "ui/main_window.h"
#include "ui/run_controller.h"
#include "ui/run_view.h"
#include "ui/slot_tile.h"
#include "ui/station_worker.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QThread>
#include <functional>

namespace keyline::test {

inline bool waitUntil(const std::function<bool()>& done, int timeoutMs = 30000) {
    QElapsedTimer t;
    t.start();
    while (!done()) {
        if (t.elapsed() > timeoutMs)
            return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
        QThread::msleep(5);
    }
    return true;
}

template <typename T>
T* child(QWidget* parent, const char* name) {
    T* w = parent->findChild<T*>(QLatin1String(name));
    INFO("widget " << name);
    REQUIRE(w != nullptr);
    return w;
}

struct GuiStation {
    std::unique_ptr<ui::MainWindow> window;

    explicit GuiStation(const LineFixture& line, int width = 1280, int height = 800) {
        auto config = station::loadConfig(line.config);
        REQUIRE(config.ok());
        ui::StationWindowOptions options;
        options.config = *config;
        window = std::make_unique<ui::MainWindow>(options);
        window->resize(width, height);
        window->show();
    }
    ~GuiStation() {
        // The steps under way finish before the line's temp dir goes.
        if (window->controller()->isActive()) {
            window->controller()->stop();
            waitUntil([&] { return !window->controller()->isActive(); }, 60000);
        }
    }

    QWidget* w() const { return window.get(); }

    void logIn(const QString& name, const QString& pin) {
        child<QLineEdit>(w(), "operatorId")->setText(name);
        child<QLineEdit>(w(), "pin")->setText(pin);
        child<QPushButton>(w(), "loginButton")->click();
        REQUIRE(waitUntil([&] {
            return window->user().has_value() ||
                   child<QPushButton>(w(), "loginButton")->isEnabled();
        }));
    }

    bool idle() const { return window->worker()->pending() == 0; }

    void waitIdle() {
        REQUIRE(waitUntil([&] { return idle(); }));
    }

    QList<ui::SlotTile*> tiles() const { return window->runView()->tiles(); }

    ui::SlotTile* tile(int port) const {
        return window->runView()->tile(
            QStringLiteral("sim:port-%1").arg(port, 2, 10, QLatin1Char('0')));
    }

    // Every one of `count` tiles shows a result (PASS or FAIL).
    bool allFinished(int count) const {
        const auto all = tiles();
        if (all.size() < count)
            return false;
        for (ui::SlotTile* t : all)
            if (t->resultText().isEmpty())
                return false;
        return true;
    }
};

} // namespace keyline::test
