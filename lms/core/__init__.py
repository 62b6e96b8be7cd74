"""Small pieces every feature uses: time in UTC and the organisation's calendar."""
