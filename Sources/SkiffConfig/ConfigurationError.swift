/// A configuration file problem, located: "skiff.yaml:12: sites[1].url: must start with https://".
package struct ConfigurationError: Error, Equatable, CustomStringConvertible {
    package var file: String
    package var line: Int
    package var key: String
    package var message: String

    package init(file: String, line: Int, key: String, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    package var description: String {
        key.isEmpty ? "\(file):\(line): \(message)" : "\(file):\(line): \(key): \(message)"
    }
}
