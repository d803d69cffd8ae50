//! Generates the `apache.rocketmq.v2` messages and the MessagingService server (and, for the
//! tests, its client) from the vendored protos, with the pure-Rust `protox` compiler so that
//! building needs no `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/apache/rocketmq/v2/definition.proto",
        "proto/apache/rocketmq/v2/service.proto",
    ];
    for p in protos {
        println!("cargo:rerun-if-changed={p}");
    }
    let descriptors = protox::compile(protos, ["proto"])?;
    tonic_prost_build::configure()
        // a message body is split off the request buffer, not copied out of it
        .bytes(".apache.rocketmq.v2.Message.body")
        .build_server(true)
        .build_client(true)
        .build_transport(false)
        .compile_fds(descriptors)?;
    Ok(())
}
