echo "worker running"
