import Foundation
import Glibc

/// moto's S3 server (PyPI `moto[server]`, installed by Tools/setup.sh) on 127.0.0.1 and a
/// free port, started by the test: moto's own WSGI application, served threaded like
/// `moto_server` serves it, with one difference. moto checks `If-None-Match: *` and then
/// stores, two steps that concurrent requests interleave (two "first" puts of one key both
/// succeeded about once in ten runs of the conformance suite), where S3 creates atomically;
/// so conditional writes are served one at a time.
package final class MotoServer: Sendable {
    static let script = #"""
        import sys, threading
        from werkzeug.serving import run_simple
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        app = DomainDispatcherApplication(create_backend_app)
        conditional = threading.Lock()

        def serve(environ, start_response):
            if "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MATCH" in environ:
                with conditional:
                    return list(app(environ, start_response))
            return app(environ, start_response)

        run_simple("127.0.0.1", int(sys.argv[1]), serve, threaded=True)
        """#

    let process: Process
    package let port: Int
    package var endpoint: String { "http://127.0.0.1:\(port)" }

    package init() throws {
        port = try LoopbackPort.free()
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script, "\(port)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if LoopbackPort.accepts(port) { return }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        process.terminate()
        throw TestFailure("moto_server did not start on port \(port) (pip install 'moto[server]': Tools/setup.sh does it)")
    }

    /// SIGTERM, then SIGKILL after 5 s. Polls rather than `waitUntilExit`, which can wait on
    /// a run loop that an async test's thread never turns.
    package func stop() {
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
