#!/bin/sh
echo "api listening"
