// The GUI tests' main: a QApplication on the offscreen platform (no display needed) with the
// station's style, so what the tests see and photograph is what the line sees.
#define CATCH_CONFIG_RUNNER
#include "ui/station_style.h"

#include <QApplication>
#include <catch2/catch.hpp>

int main(int argc, char* argv[]) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    keyline::ui::applyStationStyle(app);
    return Catch::Session().run(argc, argv);
}
