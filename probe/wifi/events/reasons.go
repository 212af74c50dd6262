package events

// reasonNames are the names of the IEEE 802.11 reason codes 1..66, from
// IEEE Std 802.11-2020, 9.4.1.7 "Reason Code field", Table 9-49 "Reason
// codes" (the "Name" column, lower-cased). The table also lists codes above
// 66 (for mesh, DMG and later amendments) that a client station on a
// clinical WLAN does not meet; they and the reserved codes are "other", so
// the set of label values stays bounded.
var reasonNames = [...]string{
	1:  "unspecified_reason",
	2:  "invalid_authentication",
	3:  "leaving_network_deauth",
	4:  "reason_inactivity",
	5:  "no_more_stas",
	6:  "invalid_class2_frame",
	7:  "invalid_class3_frame",
	8:  "leaving_network_disassoc",
	9:  "not_authenticated",
	10: "unacceptable_power_capability",
	11: "unacceptable_supported_channels",
	12: "bss_transition_disassoc",
	13: "reason_invalid_element",
	14: "mic_failure",
	15: "4way_handshake_timeout",
	16: "gk_handshake_timeout",
	17: "handshake_element_mismatch",
	18: "reason_invalid_group_cipher",
	19: "reason_invalid_pairwise_cipher",
	20: "reason_invalid_akmp",
	21: "unsupported_rsne_version",
	22: "invalid_rsne_capabilities",
	23: "802_1_x_auth_failed",
	24: "reason_cipher_out_of_policy",
	25: "tdls_peer_unreachable",
	26: "tdls_unspecified_reason",
	27: "ssp_requested_disassoc",
	28: "no_ssp_roaming_agreement",
	29: "bad_cipher_or_akm",
	30: "not_authorized_this_location",
	31: "service_change_precludes_ts",
	32: "unspecified_qos_reason",
	33: "not_enough_bandwidth",
	34: "missing_acks",
	35: "exceeded_txop",
	36: "sta_leaving",
	37: "end_ts_ba_dls",
	38: "unknown_ts_ba",
	39: "timeout",
	45: "peerkey_mismatch",
	46: "peer_initiated",
	47: "ap_initiated",
	48: "reason_invalid_ft_action_frame_count",
	49: "reason_invalid_pmkid",
	50: "reason_invalid_mde",
	51: "reason_invalid_fte",
	52: "mesh_peering_canceled",
	53: "mesh_max_peers",
	54: "mesh_configuration_policy_violation",
	55: "mesh_close_rcvd",
	56: "mesh_max_retries",
	57: "mesh_confirm_timeout",
	58: "mesh_invalid_gtk",
	59: "mesh_inconsistent_parameters",
	60: "mesh_invalid_security_capability",
	61: "mesh_path_error_no_proxy_information",
	62: "mesh_path_error_no_forwarding_information",
	63: "mesh_path_error_destination_unreachable",
	64: "mac_address_already_exists_in_mbss",
	65: "mesh_channel_switch_regulatory_requirements",
	66: "mesh_channel_switch_unspecified",
}

// ReasonOther is the name of every reason code without one of its own
// (0, the reserved codes 40..44, and codes above 66).
const ReasonOther = "other"

// ReasonName returns the name of an IEEE 802.11 reason code for the
// "reason" label: one of the names of IEEE Std 802.11-2020 Table 9-49
// (codes 1..66), or ReasonOther.
func ReasonName(code uint16) string {
	if int(code) < len(reasonNames) && reasonNames[code] != "" {
		return reasonNames[code]
	}
	return ReasonOther
}

// ReasonNames returns every name ReasonName can return, ReasonOther last:
// the complete, bounded set of "reason" label values.
func ReasonNames() []string {
	var out []string
	for _, n := range reasonNames {
		if n != "" {
			out = append(out, n)
		}
	}
	return append(out, ReasonOther)
}
