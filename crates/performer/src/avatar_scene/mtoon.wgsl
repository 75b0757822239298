// MToon (VRMC_materials_mtoon-1.0) as an extension of Bevy's StandardMaterial: the base gives
// the lit colour and its texture, alpha, normal map and emission; this shader replaces the PBR
// lighting with MToon's: per light a step between the shade and the lit colour over N·L
// (shift, toony, shadows), GI equalisation, parametric and matcap rim, UV scroll/rotation, and
// for the outline pass (MTOON_OUTLINE) an inverted hull pushed out along the normals in world
// or screen units.
//
// Units: light colours arrive in Bevy's physical units; a lit white surface facing a light gets
// colour / π like Bevy's Lambert, so an MToon avatar is as bright on the stage as the PBR one.

#import bevy_pbr::{
    mesh_bindings::mesh,
    mesh_functions,
    skinning,
    morph::{morph_position, morph_normal, morph_tangent},
    forward_io::{Vertex, VertexOutput, FragmentOutput},
    view_transformations::position_world_to_clip,
    pbr_fragment::pbr_input_from_standard_material,
    pbr_functions::{alpha_discard, main_pass_post_lighting_processing},
    pbr_types,
    mesh_view_bindings as view_bindings,
    mesh_view_bindings::view,
    mesh_view_types,
    clustered_forward as clustering,
    shadows,
    ambient,
    mesh_types::MESH_FLAGS_SHADOW_RECEIVER_BIT,
}

struct MToonUniform {
    shade_color: vec4<f32>,
    matcap_color: vec4<f32>,
    rim_color: vec4<f32>,
    outline_color: vec4<f32>,
    shading_shift: f32,
    shading_shift_texture_scale: f32,
    shading_toony: f32,
    gi_equalization: f32,
    rim_fresnel_power: f32,
    rim_lift: f32,
    rim_lighting_mix: f32,
    outline_width: f32,
    outline_lighting_mix: f32,
    uv_scroll_x: f32,
    uv_scroll_y: f32,
    uv_rotation: f32,
    // 0 none, 1 world, 2 screen
    outline_mode: u32,
    // The UV animation's clock, seconds (the show's).
    time: f32,
    _pad1: u32,
    _pad2: u32,
}

@group(#{MATERIAL_BIND_GROUP}) @binding(100) var<uniform> mtoon: MToonUniform;
@group(#{MATERIAL_BIND_GROUP}) @binding(101) var shade_texture: texture_2d<f32>;
@group(#{MATERIAL_BIND_GROUP}) @binding(102) var shade_sampler: sampler;
@group(#{MATERIAL_BIND_GROUP}) @binding(103) var shift_texture: texture_2d<f32>;
@group(#{MATERIAL_BIND_GROUP}) @binding(104) var shift_sampler: sampler;
@group(#{MATERIAL_BIND_GROUP}) @binding(105) var matcap_texture: texture_2d<f32>;
@group(#{MATERIAL_BIND_GROUP}) @binding(106) var matcap_sampler: sampler;
@group(#{MATERIAL_BIND_GROUP}) @binding(107) var rim_texture: texture_2d<f32>;
@group(#{MATERIAL_BIND_GROUP}) @binding(108) var rim_sampler: sampler;
@group(#{MATERIAL_BIND_GROUP}) @binding(109) var uv_mask_texture: texture_2d<f32>;
@group(#{MATERIAL_BIND_GROUP}) @binding(110) var uv_mask_sampler: sampler;
@group(#{MATERIAL_BIND_GROUP}) @binding(111) var outline_width_texture: texture_2d<f32>;
@group(#{MATERIAL_BIND_GROUP}) @binding(112) var outline_width_sampler: sampler;

const PI: f32 = 3.141592653589793;

#ifdef MORPH_TARGETS
fn morph_vertex(vertex_in: Vertex, instance_index: u32) -> Vertex {
    var vertex = vertex_in;
    let first_vertex = mesh[instance_index].first_vertex_index;
    let vertex_index = vertex.index - first_vertex;
    let weight_count = bevy_pbr::morph::layer_count(instance_index);
    for (var i: u32 = 0u; i < weight_count; i ++) {
        let weight = bevy_pbr::morph::weight_at(i, instance_index);
        if weight == 0.0 {
            continue;
        }
        vertex.position += weight * morph_position(vertex_index, i, instance_index);
#ifdef VERTEX_NORMALS
        vertex.normal += weight * morph_normal(vertex_index, i, instance_index);
#endif
#ifdef VERTEX_TANGENTS
        vertex.tangent += vec4(weight * morph_tangent(vertex_index, i, instance_index), 0.0);
#endif
    }
    return vertex;
}
#endif

// Bevy's mesh vertex shader, with the outline pass's hull pushed out along the normal.
@vertex
fn vertex(vertex_no_morph: Vertex) -> VertexOutput {
    var out: VertexOutput;
#ifdef MORPH_TARGETS
    var vertex = morph_vertex(vertex_no_morph, vertex_no_morph.instance_index);
#else
    var vertex = vertex_no_morph;
#endif
    let mesh_world_from_local = mesh_functions::get_world_from_local(vertex_no_morph.instance_index);
#ifdef SKINNED
    var world_from_local = skinning::skin_model(
        vertex.joint_indices,
        vertex.joint_weights,
        vertex_no_morph.instance_index
    );
#else
    var world_from_local = mesh_world_from_local;
#endif
#ifdef VERTEX_NORMALS
#ifdef SKINNED
    out.world_normal = skinning::skin_normals(world_from_local, vertex.normal);
#else
    out.world_normal = mesh_functions::mesh_normal_local_to_world(
        vertex.normal,
        vertex_no_morph.instance_index
    );
#endif
#endif
#ifdef VERTEX_POSITIONS
    out.world_position = mesh_functions::mesh_position_local_to_world(world_from_local, vec4<f32>(vertex.position, 1.0));
#ifdef MTOON_OUTLINE
#ifdef VERTEX_UVS_A
    let width_scale = textureSampleLevel(outline_width_texture, outline_width_sampler, vertex.uv, 0.0).g;
#else
    let width_scale = 1.0;
#endif
    let n = normalize(out.world_normal);
    let width = mtoon.outline_width * width_scale;
    if mtoon.outline_mode == 1u {
        out.world_position = vec4(out.world_position.xyz + n * width, 1.0);
        out.position = position_world_to_clip(out.world_position.xyz);
    } else {
        // Screen: `width` is a fraction of the picture's height, whatever the distance.
        var clip = position_world_to_clip(out.world_position.xyz);
        let aspect = view.viewport.z / max(view.viewport.w, 1.0);
        let n_clip = (view.clip_from_world * vec4(n, 0.0)).xy;
        let dir = n_clip * vec2(aspect, 1.0);
        if dot(dir, dir) > 1e-12 {
            let offset = normalize(dir) * vec2(1.0 / aspect, 1.0) * 2.0 * width;
            clip = vec4(clip.xy + offset * clip.w, clip.zw);
        }
        out.position = clip;
    }
#else
    out.position = position_world_to_clip(out.world_position.xyz);
#endif
#endif
#ifdef VERTEX_UVS_A
    out.uv = vertex.uv;
#endif
#ifdef VERTEX_UVS_B
    out.uv_b = vertex.uv_b;
#endif
#ifdef VERTEX_TANGENTS
    out.world_tangent = mesh_functions::mesh_tangent_local_to_world(
        world_from_local,
        vertex.tangent,
        vertex_no_morph.instance_index
    );
#endif
#ifdef VERTEX_COLORS
    out.color = vertex.color;
#endif
#ifdef VERTEX_OUTPUT_INSTANCE_INDEX
    out.instance_index = vertex_no_morph.instance_index;
#endif
#ifdef VISIBILITY_RANGE_DITHER
    out.visibility_range_dither = mesh_functions::get_visibility_range_dither_level(
        vertex_no_morph.instance_index, mesh_world_from_local[3]);
#endif
    return out;
}

fn linearstep(a: f32, b: f32, t: f32) -> f32 {
    return saturate((t - a) / max(b - a, 1e-4));
}

// The UV scroll and rotation at this moment (masked by the mask texture's blue channel).
fn animated_uv(uv: vec2<f32>) -> vec2<f32> {
    let mask = textureSample(uv_mask_texture, uv_mask_sampler, uv).b;
    let t = mtoon.time * mask;
    let angle = mtoon.uv_rotation * t;
    let c = cos(angle);
    let s = sin(angle);
    let centred = uv - vec2(0.5);
    let rotated = vec2(c * centred.x - s * centred.y, s * centred.x + c * centred.y) + vec2(0.5);
    return rotated + vec2(mtoon.uv_scroll_x, mtoon.uv_scroll_y) * t;
}

// MToon's step for one light: 0 in the shade, 1 lit.
fn shading(n_dot_l: f32, shift: f32, shadow: f32) -> f32 {
    let toony = mtoon.shading_toony;
    return linearstep(-1.0 + toony, 1.0 - toony, n_dot_l + shift) * shadow;
}

@fragment
fn fragment(
    vertex_output: VertexOutput,
    @builtin(front_facing) is_front: bool,
) -> FragmentOutput {
    var in = vertex_output;
#ifdef VERTEX_UVS_A
    let uv = animated_uv(in.uv);
    in.uv = uv;
#else
    let uv = vec2(0.0);
#endif
    // (On the outline hull, single-sided with front faces culled, N stays the outward normal:
    // the hull is lit as the silhouette of the surface it wraps.)
    var pbr_input = pbr_input_from_standard_material(in, is_front);
    pbr_input.material.base_color = alpha_discard(pbr_input.material, pbr_input.material.base_color);
    let lit = pbr_input.material.base_color.rgb;
    let shade = mtoon.shade_color.rgb * textureSample(shade_texture, shade_sampler, uv).rgb;
    let shift = mtoon.shading_shift
        + textureSample(shift_texture, shift_sampler, uv).r * mtoon.shading_shift_texture_scale;
    let N = pbr_input.N;
    let V = pbr_input.V;
    let P = pbr_input.world_position;
    let receives_shadows = (pbr_input.flags & MESH_FLAGS_SHADOW_RECEIVER_BIT) != 0u;

    var direct = vec3(0.0);
    var light_sum = vec3(0.0);

    let view_z = dot(vec4<f32>(
        view.view_from_world[0].z,
        view.view_from_world[1].z,
        view.view_from_world[2].z,
        view.view_from_world[3].z
    ), P);

    // Directional lights.
    for (var i: u32 = 0u; i < view_bindings::lights.n_directional_lights; i = i + 1u) {
        let light = &view_bindings::lights.directional_lights[i];
        var shadow = 1.0;
        if receives_shadows && ((*light).flags & mesh_view_types::DIRECTIONAL_LIGHT_FLAGS_SHADOWS_ENABLED_BIT) != 0u {
            shadow = shadows::fetch_directional_shadow(i, P, pbr_input.world_normal, view_z, in.position.xy);
        }
        let radiance = (*light).color.rgb / PI;
        let s = shading(dot(N, (*light).direction_to_light), shift, shadow);
        direct += mix(shade, lit, s) * radiance;
        light_sum += radiance;
    }

    // Point and spot lights of this fragment's cluster.
    let cluster_index = clustering::view_fragment_cluster_index(in.position.xy, view_z, pbr_input.is_orthographic);
    let ranges = clustering::unpack_clusterable_object_index_ranges(cluster_index);
    for (var i: u32 = ranges.first_point_light_index_offset;
            i < ranges.first_reflection_probe_index_offset;
            i = i + 1u) {
        let light_id = clustering::get_clusterable_object_id(i);
        let light = &view_bindings::clustered_lights.data[light_id];
        let to_light = (*light).position_radius.xyz - P.xyz;
        let distance_square = dot(to_light, to_light);
        let L = to_light * inverseSqrt(max(distance_square, 1e-8));
        let factor = distance_square * (*light).color_inverse_square_range.w;
        let falloff = saturate(1.0 - factor * factor);
        var attenuation = falloff * falloff / max(distance_square, 1e-4);
        let is_spot = i >= ranges.first_spot_light_index_offset;
        var shadow = 1.0;
        let casts = ((*light).flags & mesh_view_types::POINT_LIGHT_FLAGS_SHADOWS_ENABLED_BIT) != 0u;
        if is_spot {
            var spot_dir = vec3<f32>((*light).light_custom_data.x, 0.0, (*light).light_custom_data.y);
            spot_dir.y = sqrt(max(0.0, 1.0 - spot_dir.x * spot_dir.x - spot_dir.z * spot_dir.z));
            if ((*light).flags & mesh_view_types::POINT_LIGHT_FLAGS_SPOT_LIGHT_Y_NEGATIVE) != 0u {
                spot_dir.y = -spot_dir.y;
            }
            let cd = dot(-spot_dir, L);
            let cone = saturate(cd * (*light).light_custom_data.z + (*light).light_custom_data.w);
            attenuation *= cone * cone;
            if receives_shadows && casts && attenuation > 0.0 {
                shadow = shadows::fetch_spot_shadow(light_id, P, pbr_input.world_normal,
                    (*light).shadow_map_near_z, in.position.xy);
            }
        } else if receives_shadows && casts {
            shadow = shadows::fetch_point_shadow(light_id, P, pbr_input.world_normal, in.position.xy);
        }
        let radiance = (*light).color_inverse_square_range.rgb * attenuation / PI;
        let s = shading(dot(N, L), shift, shadow);
        direct += mix(shade, lit, s) * radiance;
        light_sum += radiance;
    }

    // Global illumination, evened out between the normal's and the up/down average.
    let n_dot_v = max(dot(N, V), 1e-4);
    let occlusion = pbr_input.diffuse_occlusion;
    let gi_n = ambient::ambient_light(P, N, V, n_dot_v, lit, vec3(0.0), 1.0, occlusion);
    let gi_up = ambient::ambient_light(P, vec3(0.0, 1.0, 0.0), V, n_dot_v, lit, vec3(0.0), 1.0, occlusion);
    let gi_down = ambient::ambient_light(P, vec3(0.0, -1.0, 0.0), V, n_dot_v, lit, vec3(0.0), 1.0, occlusion);
    let indirect = mix(gi_n, 0.5 * (gi_up + gi_down), mtoon.gi_equalization);

    let exposure = view.exposure;
    var color = (direct + indirect) * exposure;

#ifdef MTOON_OUTLINE
    color = mtoon.outline_color.rgb * mix(vec3(1.0), color, mtoon.outline_lighting_mix);
#else
    // Rim: matcap and parametric, scaled by the rim texture and (by the mix) the light.
    let world_view_x = normalize(vec3(V.z, 0.0, -V.x));
    let world_view_y = cross(V, world_view_x);
    let matcap_uv = vec2(dot(world_view_x, N), -dot(world_view_y, N)) * 0.495 + 0.5;
    var rim = mtoon.matcap_color.rgb * textureSample(matcap_texture, matcap_sampler, matcap_uv).rgb;
    let parametric = saturate(1.0 - dot(N, V) + mtoon.rim_lift);
    rim += pow(parametric, max(mtoon.rim_fresnel_power, 1e-5)) * mtoon.rim_color.rgb;
    rim *= textureSample(rim_texture, rim_sampler, uv).rgb;
    rim *= mix(vec3(1.0), (light_sum + indirect) * exposure, mtoon.rim_lighting_mix);
    color += rim + pbr_input.material.emissive.rgb;
#endif

    var out: FragmentOutput;
    out.color = main_pass_post_lighting_processing(pbr_input, vec4(color, pbr_input.material.base_color.a));
    return out;
}
