import ArgumentParser
import Foundation
import SkiffCore
import SkiffRestore
import SkiffStorage

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the whole repository with the restore key: every seal and every object, decrypted.",
        discussion: "Exit code 0: everything verified. Exit code 6: problems found (each names the object and where it sits).")

    @OptionGroup var repository: RepositoryOptions
    @OptionGroup var sites: SiteOptions
    @OptionGroup var output: OutputOptions
    @Option(name: .long, help: ArgumentHelp("The tenant's restore key.", valueName: "FILE"))
    var restoreKey: String?
    @Option(name: .long, help: ArgumentHelp("Read the passphrase from the first line of this file.", valueName: "FILE"))
    var passphraseFile: String?

    func run() async throws {
        let key = try KeyFiles.restoreKey(restoreKey, passphrase: PassphraseSource(file: passphraseFile))
        try await ReadableRepository.using(repository, sites, tenant: key.publicKey) { repo in
            try await verify(repo, key: key)
        }
    }

    private func verify(_ repo: Repository, key: RestoreKey) async throws {
        let reader = ObjectReader(repository: repo, restoreKey: key)
        let verifier = RepositoryVerifier(reader: reader, tenant: key.publicKey,
                                          parallelism: ReadableRepository.isLocal(repository, sites) ? 8 : RemoteTuning().verifyParallelism)
        let progress = ProgressDisplay { elapsed in
            "checked \(verifier.progress) objects, \(Units.bytes(reader.bytesFetched.load(ordering: .relaxed)))"
        }
        let started = Date()
        let report: VerificationReport
        do { report = try await verifier.verify() } catch {
            progress.stop()
            throw error
        }
        progress.stop()
        if output.json {
            try JSONOutput.print(report)
        } else {
            for finding in report.findings { print("problem [\(finding.code.rawValue)]: \(finding)") }
            print("checked \(report.sealsChecked) seals and \(report.objectsChecked) objects (\(Units.bytes(report.bytesChecked))) in \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
            if report.unreferencedObjects > 0 {
                let why = report.isClean ? "left by interrupted backups" : "left by interrupted backups, or below a damaged object"
                print("\(report.unreferencedObjects) objects are not reached from any seal (\(why))")
            }
            print(report.isClean ? "no problems found" : "\(report.findings.count) problems found")
        }
        if !report.isClean { throw ExitCode(ExitStatus.integrity.rawValue) }
    }
}
