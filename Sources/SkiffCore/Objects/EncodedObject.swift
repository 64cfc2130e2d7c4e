/// An object ready to store: its address, what it is, and its stored bytes.
package struct EncodedObject: Sendable {
    package let address: ObjectAddress
    package let kind: ObjectKind
    /// The keyed identity of the plaintext (nil for session key objects).
    package let identity: ObjectIdentity?
    package let bytes: [UInt8]

    package init(address: ObjectAddress, kind: ObjectKind, identity: ObjectIdentity?, bytes: [UInt8]) {
        self.address = address
        self.kind = kind
        self.identity = identity
        self.bytes = bytes
    }
}
