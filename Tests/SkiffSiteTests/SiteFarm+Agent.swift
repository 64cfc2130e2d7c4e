import Foundation
import SkiffTestSupport

/// Running `skiff agent` against the farm's sites.
extension SiteFarm {
    /// Writes agent.yaml: the host configuration followed by `agentSection` (an `agent:`
    /// block). Returns its path and its text.
    func writeAgentConfiguration(_ agentSection: String) throws -> (path: String, text: String) {
        let text = try String(contentsOfFile: hostConfiguration, encoding: .utf8) + agentSection
        let path = folder.appending("agent.yaml").description
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return (path, text)
    }

    /// Starts `skiff agent --config FILE` with the farm's environment plus `extra`; its
    /// standard error goes to `log` when given.
    func startAgent(config: String, environment extra: [String: String] = [:], log: String? = nil) throws -> Process {
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: CommandRunner.executable("skiff"))
        agent.arguments = ["agent", "--config", config]
        agent.environment = ProcessInfo.processInfo.environment.merging(environment.merging(extra) { $1 }) { $1 }
        agent.standardOutput = FileHandle.nullDevice
        if let log {
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            agent.standardError = FileHandle(forWritingAtPath: log)
        } else {
            agent.standardError = FileHandle.nullDevice
        }
        try agent.run()
        agents.withLock { $0.append(agent) }
        return agent
    }
}
