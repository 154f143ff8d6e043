//! The services of a `FileDescriptorSet` (`google/protobuf/descriptor.proto`), decoded with
//! prost: only the fields that name services and methods are declared, the rest are skipped,
//! and the rules their names must follow.

use prost::Message;

/// `google.protobuf.FileDescriptorSet`.
#[derive(Clone, PartialEq, Message)]
struct FileDescriptorSet {
    #[prost(message, repeated, tag = "1")]
    file: Vec<FileDescriptorProto>,
}

/// `google.protobuf.FileDescriptorProto`: its name, package and services.
#[derive(Clone, PartialEq, Message)]
struct FileDescriptorProto {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(string, optional, tag = "2")]
    package: Option<String>,
    #[prost(message, repeated, tag = "6")]
    service: Vec<ServiceDescriptorProto>,
}

/// `google.protobuf.ServiceDescriptorProto`: its name and methods.
#[derive(Clone, PartialEq, Message)]
struct ServiceDescriptorProto {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(message, repeated, tag = "2")]
    method: Vec<MethodDescriptorProto>,
}

/// `google.protobuf.MethodDescriptorProto`: its name.
#[derive(Clone, PartialEq, Message)]
struct MethodDescriptorProto {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
}

/// A service read from descriptors: its full name (`pkg.Service`), its methods, and the file
/// that declares it.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct DescribedService {
    pub(super) name: String,
    pub(super) methods: Vec<String>,
    pub(super) file: String,
}

/// Every service of the encoded `FileDescriptorSet` `bytes`, in their order there.
pub(super) fn services(bytes: &[u8]) -> Result<Vec<DescribedService>, String> {
    let set = FileDescriptorSet::decode(bytes).map_err(|error| {
        format!(
            "the {} bytes given are not an encoded `FileDescriptorSet` ({error}): give the bytes tonic's code generator writes with `file_descriptor_set_path` (`include_bytes!`, as for tonic-reflection), or a service's `FILE_DESCRIPTOR_SET`",
            bytes.len()
        )
    })?;
    let mut services = Vec::new();
    for file in set.file {
        let file_name = file.name.unwrap_or_default();
        for service in file.service {
            let short = service.name.unwrap_or_default();
            let name = match file.package.as_deref() {
                Some(package) if !package.is_empty() => format!("{package}.{short}"),
                _ => short,
            };
            services.push(DescribedService {
                name,
                methods: service
                    .method
                    .into_iter()
                    .map(|method| method.name.unwrap_or_default())
                    .collect(),
                file: file_name.clone(),
            });
        }
    }
    Ok(services)
}

/// Whether `name` is a protobuf identifier: an ASCII letter or `_`, then letters, digits and `_`.
fn identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Why `name` cannot be a service's full name (`pkg.Service`, or `Service` without a
/// package), if it cannot.
pub(super) fn service_name_problem(name: &str) -> Option<String> {
    if name.split('.').all(identifier) {
        return None;
    }
    let trimmed = name.trim_matches('/');
    let hint = if trimmed != name && service_name_problem(trimmed).is_none() {
        format!("; try `{trimmed}`")
    } else if let Some((service, _)) = trimmed.split_once('/') {
        format!("; give the method apart: `.service(\"{service}\", &[...])`")
    } else {
        String::new()
    };
    Some(format!(
        "`{name}` is not a gRPC service's full name: its package and name, identifiers (ASCII letters, digits and `_`, not starting with a digit) joined with `.`, like `helloworld.Greeter` (tonic's `NamedService::NAME`){hint}"
    ))
}

/// Why `method` cannot be the name of a method of `service`, if it cannot.
pub(super) fn method_name_problem(service: &str, method: &str) -> Option<String> {
    (!identifier(method)).then(|| {
        format!(
            "`{method}` (of `{service}`) is not a gRPC method name: an identifier (ASCII letters, digits and `_`, not starting with a digit) as the `.proto` file spells it, like `SayHello`"
        )
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A set of one file, `dup.proto` without a package, declaring `service` with `methods`.
    pub(in crate::integrations::grpc) fn encoded_service(
        service: &str,
        methods: &[&str],
    ) -> Vec<u8> {
        encoded(vec![FileDescriptorProto {
            name: Some("dup.proto".to_owned()),
            package: None,
            service: vec![self::service(service, methods)],
        }])
    }

    fn encoded(files: Vec<FileDescriptorProto>) -> Vec<u8> {
        FileDescriptorSet { file: files }.encode_to_vec()
    }

    fn service(name: &str, methods: &[&str]) -> ServiceDescriptorProto {
        ServiceDescriptorProto {
            name: Some(name.to_owned()),
            method: methods
                .iter()
                .map(|method| MethodDescriptorProto {
                    name: Some((*method).to_owned()),
                })
                .collect(),
        }
    }

    #[test]
    fn the_services_of_every_file_are_read_with_their_package() {
        let bytes = encoded(vec![
            FileDescriptorProto {
                name: Some("shop/orders.proto".to_owned()),
                package: Some("shop.v1".to_owned()),
                service: vec![
                    service("Orders", &["Place", "Watch"]),
                    service("Admin", &[]),
                ],
            },
            FileDescriptorProto {
                name: Some("google/protobuf/empty.proto".to_owned()),
                package: Some("google.protobuf".to_owned()),
                service: vec![],
            },
            FileDescriptorProto {
                name: Some("bare.proto".to_owned()),
                package: None,
                service: vec![service("Bare", &["Ping"])],
            },
        ]);
        let read = services(&bytes).unwrap();
        let names: Vec<(&str, Vec<&str>, &str)> = read
            .iter()
            .map(|service| {
                (
                    service.name.as_str(),
                    service.methods.iter().map(String::as_str).collect(),
                    service.file.as_str(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                (
                    "shop.v1.Orders",
                    vec!["Place", "Watch"],
                    "shop/orders.proto"
                ),
                ("shop.v1.Admin", vec![], "shop/orders.proto"),
                ("Bare", vec!["Ping"], "bare.proto"),
            ]
        );
    }

    #[test]
    fn bytes_that_are_not_a_descriptor_set_are_an_error() {
        let error = services(&[0xff, 0xff, 0xff]).unwrap_err();
        assert!(error.starts_with("the 3 bytes given are not an encoded `FileDescriptorSet`"));
        assert_eq!(services(&[]).unwrap(), []);
    }

    #[test]
    fn names_are_identifiers_joined_with_dots() {
        for good in ["helloworld.Greeter", "Greeter", "a.b_c.D9", "_x._y"] {
            assert_eq!(service_name_problem(good), None, "{good}");
        }
        for bad in [
            "",
            ".Greeter",
            "helloworld.",
            "a..b",
            "9a.B",
            "a-b.C",
            "a b",
        ] {
            assert!(service_name_problem(bad).is_some(), "{bad}");
        }
        assert!(
            service_name_problem("/helloworld.Greeter")
                .unwrap()
                .ends_with("try `helloworld.Greeter`")
        );
        assert!(
            service_name_problem("helloworld.Greeter/SayHello")
                .unwrap()
                .ends_with("give the method apart: `.service(\"helloworld.Greeter\", &[...])`")
        );
        assert_eq!(method_name_problem("s.S", "SayHello"), None);
        for bad in ["", "Say.Hello", "/SayHello", "9Lives", "Say Hello"] {
            assert!(method_name_problem("s.S", bad).is_some(), "{bad}");
        }
    }
}
