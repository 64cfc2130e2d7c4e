import SkiffCore

/// What an object links to in the Merkle DAG (`ObjectHeader.links`): its children and, for
/// encrypted kinds, its session key object. All a seal check or a collection's marking needs of
/// an object, which a packed store keeps in its index so neither reads the packs.
package struct ObjectLinks: Sendable, Equatable {
    package var kind: ObjectKind
    package var children: [ObjectAddress]
    package var sessionKey: ObjectAddress?

    package init(kind: ObjectKind, children: [ObjectAddress], sessionKey: ObjectAddress?) {
        self.kind = kind
        self.children = children
        self.sessionKey = sessionKey
    }

    package init(_ header: ObjectHeader) {
        self.init(kind: header.kind, children: header.children, sessionKey: header.sessionKeyAddress)
    }

    /// The links of a stored object read from its header; nil when its bytes do not start with
    /// a header that parses.
    package init?(stored bytes: [UInt8]) {
        guard let header = try? ObjectHeader.parse(bytes) else { return nil }
        self.init(header)
    }

    /// Every address linked to: the children, then the session key.
    package var all: [ObjectAddress] {
        if let sessionKey { return children + [sessionKey] }
        return children
    }
}
