// keyline-station: the line-station GUI (docs/operator-guide.md, "Line-station GUI").
#include "station/config.h"
#include "ui/main_window.h"
#include "ui/station_style.h"

#include <QApplication>
#include <QCommandLineParser>
#include <cstdio>

int main(int argc, char* argv[]) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("keyline-station"));
    QApplication::setApplicationVersion(QStringLiteral(KEYLINE_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QApplication::translate(
        "main", "Keyline line station: log in, pick an order, plug in devices."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption config(QStringLiteral("config"),
                                    QApplication::translate("main", "Station configuration file "
                                                                    "(default: as for keyline)."),
                                    QStringLiteral("FILE"));
    const QCommandLineOption kiosk(QStringLiteral("kiosk"),
                                   QApplication::translate("main", "Full screen, for the line."));
    const QCommandLineOption idle(
        QStringLiteral("idle-logout-minutes"),
        QApplication::translate("main", "Log out after N minutes without activity; 0 never "
                                        "(default 10)."),
        QStringLiteral("N"), QStringLiteral("10"));
    parser.addOptions({config, kiosk, idle});
    parser.process(app);

    bool ok = false;
    const int minutes = parser.value(idle).toInt(&ok);
    if (!ok || minutes < 0 || minutes > 24 * 60) {
        std::fprintf(stderr, "keyline-station: error: --idle-logout-minutes must be 0 to 1440\n");
        return 2;
    }
    auto loaded = keyline::station::loadConfig(parser.value(config));
    if (!loaded) {
        std::fprintf(stderr, "keyline-station: error: %s\n", qPrintable(loaded.error().toString()));
        return exitCodeFor(loaded.error().code());
    }
    keyline::ui::applyStationStyle(app);
    keyline::ui::StationWindowOptions options;
    options.config = *loaded;
    options.idleLogout = std::chrono::minutes(minutes);
    options.kiosk = parser.isSet(kiosk);
    keyline::ui::MainWindow window(options);
    if (options.kiosk)
        window.showFullScreen();
    else
        window.show();
    return app.exec();
}
