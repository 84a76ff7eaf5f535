// Precompiled-header carrier for the test binaries.
