package wifi

// Channel returns the IEEE channel number and band name of a centre frequency
// in MHz, or 0 and "" when the frequency is in none of the Wi-Fi bands.
func Channel(mhz int) (int, string) {
	switch {
	case mhz == 2484:
		return 14, "2.4GHz"
	case mhz >= 2412 && mhz <= 2472:
		return (mhz - 2407) / 5, "2.4GHz"
	case mhz >= 5955 && mhz <= 7115:
		return (mhz - 5950) / 5, "6GHz"
	case mhz == 5935:
		return 2, "6GHz"
	case mhz >= 5150 && mhz <= 5895:
		return (mhz - 5000) / 5, "5GHz"
	}
	return 0, ""
}
